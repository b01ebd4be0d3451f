"""The canvas: the image and its overlay in a QGraphicsView. Zoom around the cursor (wheel), pan
(middle drag, or space + left drag), fit and 1:1. The image and the overlay are drawn from
display levels (core.pyramid): the level that fits the zoom, only the tiles in view, so a
100-megapixel image costs what the viewport shows, not what the file holds."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QTransform
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene, QGraphicsView, QStyleOptionGraphicsItem, QWidget

from fcn_studio.core.pyramid import TILE, ImageLevels, level_for_zoom, visible_tiles
from fcn_studio.ui.canvas.qimage import argb_image
from fcn_studio.ui.canvas.slide_item import SlideItem, SlideTiles
from fcn_studio.ui.guide import guide_hint

MIN_ZOOM, MAX_ZOOM = 0.01, 64.0


def first_run_message() -> str:
    """What an empty window says: how to start, and where the guide is (the same one as docs/)."""
    return ("Open images, a folder or a project (File menu), or drop them here.\n\n"
            "New here? Help > Create Sample Project makes a project to try; F1 lists every key.\n"
            f"{guide_hint()}")


class LevelItem(QGraphicsItem):
    """Draws a picture from its display levels: the level that fits the zoom (core.pyramid), and of
    it only the tiles the exposed rectangle touches. `source` is an ImageLevels (drawn as one
    smoothed block, so tile edges leave no seams) or an overlay tile source (OverlayState: tiles of
    premultiplied ARGB, drawn tile by tile, pixel-exact)."""

    def __init__(self, smooth: bool) -> None:
        super().__init__()
        self.source = None
        self.smooth = smooth
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)

    @property
    def buffer(self):  # the name the window's tests and benchmarks know
        return self.source

    def set_source(self, source) -> None:
        self.prepareGeometryChange()
        self.source = source
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt's name)
        if self.source is None:
            return QRectF()
        h, w = self.source.shape
        return QRectF(0, 0, w, h)

    def level_at(self, zoom: float) -> int:
        return level_for_zoom(zoom, len(self.source.levels) if isinstance(self.source, ImageLevels)
                              else self.source.count)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        if self.source is None:
            return
        zoom = painter.worldTransform().m11()
        level = self.level_at(zoom)
        exposed = option.exposedRect.intersected(self.boundingRect())
        if exposed.isEmpty():
            return
        tiles = visible_tiles((exposed.x(), exposed.y(), exposed.width(), exposed.height()), level,
                              self.source.shape)
        if not tiles:
            return
        painter.setClipRect(self.boundingRect())
        if isinstance(self.source, ImageLevels):
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.smooth and zoom < 1.0)
            self._paint_block(painter, level, tiles)
            return
        s = 1 << level
        for ty, tx in tiles:
            argb = self.source.tile(level, ty, tx)
            h, w = argb.shape
            painter.drawImage(QRectF(tx * TILE * s, ty * TILE * s, w * s, h * s), argb_image(argb))

    def _paint_block(self, painter: QPainter, level: int, tiles: list[tuple[int, int]]) -> None:
        """The tiles' bounding block of the level, in one call: a view of its rows, no copy."""
        array = self.source.levels[level]
        lh, lw = array.shape[:2]
        y0, x0 = min(t[0] for t in tiles) * TILE, min(t[1] for t in tiles) * TILE
        y1, x1 = min(lh, (max(t[0] for t in tiles) + 1) * TILE), min(lw, (max(t[1] for t in tiles) + 1) * TILE)
        rows = array[y0:y1]
        image = QImage(rows.data, lw, y1 - y0, rows.strides[0], QImage.Format.Format_RGB888)
        s = 1 << level
        painter.drawImage(QRectF(x0 * s, y0 * s, (x1 - x0) * s, (y1 - y0) * s), image,
                          QRectF(x0, 0, x1 - x0, y1 - y0))


class CanvasView(QGraphicsView):
    hovered = Signal(int, int)  # image pixel under the cursor, (-1, -1) outside
    zoom_changed = Signal(float)
    # Left and right button events in image coordinates (not while panning), for the editing tools.
    pressed = Signal(QPointF, object, object)  # position, button, modifiers
    moved = Signal(QPointF, object)  # position, modifiers
    released = Signal(QPointF, object)  # position, button
    double_clicked = Signal(QPointF)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._last_hover = (-1, -1)  # the image pixel under the cursor
        self.setScene(QGraphicsScene(self))
        self.image_item = LevelItem(smooth=True)
        self.overlay_item = LevelItem(smooth=False)
        self.overlay_item.setZValue(1)
        self.scene().addItem(self.image_item)
        self.scene().addItem(self.overlay_item)
        self.slide_item = SlideItem(smooth=True)  # a whole slide, instead of image_item
        self.slide_labels = SlideItem(smooth=False)  # ... and its labels, instead of overlay_item
        self.slide_labels.setZValue(1)
        self.scene().addItem(self.slide_item)
        self.scene().addItem(self.slide_labels)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self.setBackgroundBrush(QColor(48, 48, 48))
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.message = first_run_message()
        self._pan_from: QPointF | None = None
        self._space = False
        self.left_pans = False  # the Navigate tool: the left button pans, so a focusing click never paints
        self._fitted = True  # keep fitting on resize until the user zooms by hand

    # -- content ----------------------------------------------------------------------------------
    def set_image(self, levels: ImageLevels | None, fit: bool = True) -> None:
        self._drop_slide()
        self.image_item.set_source(levels)
        self._show(levels, fit)

    def set_slide(self, image_tiles: SlideTiles, label_tiles: SlideTiles, fit: bool = True) -> None:
        """A whole slide (ui.canvas.slide_item): its tiles and its labels' tiles, read as they come into
        view, instead of display levels of a decoded image."""
        self._drop_slide()
        self.image_item.set_source(None)
        self.overlay_item.set_source(None)
        self.slide_item.set_tiles(image_tiles)
        self.slide_labels.set_tiles(label_tiles)
        self._show(image_tiles, fit)

    def _drop_slide(self) -> None:
        self.slide_item.set_tiles(None)
        self.slide_labels.set_tiles(None)

    @property
    def picture(self):
        """What is shown (display levels, or a slide's tiles), or None."""
        return self.image_item.source if self.image_item.source is not None else self.slide_item.tiles

    def _show(self, levels, fit: bool) -> None:
        if levels is not None:
            self.message = ""
            h, w = levels.shape
            self.scene().setSceneRect(QRectF(0, 0, w, h))
            if fit:
                self.fit()
        self.viewport().update()

    def set_overlay(self, source) -> None:
        """`source` gives premultiplied ARGB tiles (see OverlayState), or None for no overlay. The pixel
        under a cursor that has not moved is described again: another image or new data lies there now."""
        self.overlay_item.set_source(source)
        self._hover((-1, -1) if self.image_item.source is None else self._last_hover)

    def _hover(self, xy: tuple[int, int]) -> None:
        item = self.image_item if self.image_item.source is not None else self.slide_item
        rect = item.boundingRect()
        inside = self.picture is not None and 0 <= xy[0] < rect.width() and 0 <= xy[1] < rect.height()
        self._last_hover = xy if inside else (-1, -1)
        self.hovered.emit(*self._last_hover)

    def update_overlay(self, rect: QRectF | None = None) -> None:
        """The overlay changed: repaint only `rect` (image pixels) if given, widened to whole pixels of
        the level on screen (a changed sample paints a block of 2**level image pixels)."""
        if rect is None or self.overlay_item.source is None:
            self.overlay_item.update(self.overlay_item.boundingRect())
            return
        s = 1 << self.overlay_item.level_at(self.zoom)
        self.overlay_item.update(rect.adjusted(-s, -s, s, s))

    def set_overlay_opacity(self, opacity: float) -> None:
        self.overlay_item.setOpacity(opacity)

    def show_message(self, text: str) -> None:
        self.message = text
        self._drop_slide()
        self.image_item.set_source(None)
        self.overlay_item.set_source(None)
        self.viewport().update()

    # -- zoom ------------------------------------------------------------------------------------
    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, zoom: float) -> None:
        self._fitted = False
        zoom = min(MAX_ZOOM, max(MIN_ZOOM, zoom))
        self.setTransform(QTransform.fromScale(zoom, zoom))
        self.zoom_changed.emit(zoom)

    def visible_rect(self, shape: tuple[int, int]) -> tuple[int, int, int, int] | None:
        """The image pixels in view, (y0, x0, y1, x1) within an image of `shape`; None when none are."""
        scene = self.mapToScene(self.viewport().rect()).boundingRect()
        h, w = shape
        y0, x0 = max(0, int(scene.top())), max(0, int(scene.left()))
        y1, x1 = min(h, int(scene.bottom()) + 1), min(w, int(scene.right()) + 1)
        return (y0, x0, y1, x1) if y0 < y1 and x0 < x1 else None

    def fit(self) -> None:
        if self.picture is None:
            return
        self.fitInView(self.image_item if self.image_item.source is not None else self.slide_item,
                       Qt.AspectRatioMode.KeepAspectRatio)
        self._fitted = True
        self.zoom_changed.emit(self.zoom)

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        if self._fitted:
            self.fit()

    def one_to_one(self) -> None:
        self.set_zoom(1.0)

    def zoom_by(self, factor: float) -> None:
        self.set_zoom(self.zoom * factor)

    def wheelEvent(self, event) -> None:  # noqa: N802
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.zoom_by(1.25 ** steps)
        event.accept()

    # -- pan and hover ---------------------------------------------------------------------------
    def keyPressEvent(self, event) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self._rest_cursor()
            return
        super().keyReleaseEvent(event)

    def set_left_pans(self, pans: bool) -> None:
        self.left_pans = pans
        if self._pan_from is None and not self._space:
            self._rest_cursor()

    def _rest_cursor(self) -> None:
        if self.left_pans:
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
        else:
            self.viewport().unsetCursor()

    def mousePressEvent(self, event) -> None:  # noqa: N802
        alt = event.modifiers() & Qt.KeyboardModifier.AltModifier  # Alt+click picks a class in every tool
        if event.button() == Qt.MouseButton.MiddleButton or (
                event.button() == Qt.MouseButton.LeftButton and (self._space or (self.left_pans and not alt))):
            self._pan_from = event.position()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        if event.button() in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            self.pressed.emit(self.mapToScene(event.position().toPoint()), event.button(), event.modifiers())
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton and not self._space:
            self.double_clicked.emit(self.mapToScene(event.position().toPoint()))
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if self._pan_from is not None:
            delta = event.position() - self._pan_from
            self._pan_from = event.position()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - int(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - int(delta.y()))
            event.accept()
            return
        p = self.mapToScene(event.position().toPoint())
        self.moved.emit(p, event.modifiers())
        self._hover((int(p.x()), int(p.y())) if p.x() >= 0 and p.y() >= 0 else (-1, -1))
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if self._pan_from is not None:
            self._pan_from = None
            if self._space:
                self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            else:
                self._rest_cursor()
            event.accept()
            return
        if event.button() in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            self.released.emit(self.mapToScene(event.position().toPoint()), event.button())
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def leaveEvent(self, event) -> None:  # noqa: N802
        self._hover((-1, -1))
        super().leaveEvent(event)

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:  # noqa: N802
        if not self.message:
            return
        painter.save()
        painter.resetTransform()
        painter.setPen(QColor(220, 220, 220))
        painter.drawText(self.viewport().rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                         self.message)
        painter.restore()
