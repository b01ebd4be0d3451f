"""The canvas: the image and its overlay in a QGraphicsView. Zoom around the cursor (wheel), pan
(middle drag, or space + left drag), fit and 1:1. Items paint only the exposed part of their
QImage, so a 24-megapixel image costs what the viewport shows, not what the file holds."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QTransform
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene, QGraphicsView, QStyleOptionGraphicsItem, QWidget

from fcn_studio.ui.qimage import ImageBuffer

MIN_ZOOM, MAX_ZOOM = 0.01, 64.0


class BufferItem(QGraphicsItem):
    """Draws an ImageBuffer pixel for pixel; `smooth` filters when zoomed out."""

    def __init__(self, smooth: bool) -> None:
        super().__init__()
        self.buffer: ImageBuffer | None = None
        self.smooth = smooth
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)

    def set_buffer(self, buffer: ImageBuffer | None) -> None:
        self.prepareGeometryChange()
        self.buffer = buffer
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt's name)
        if self.buffer is None:
            return QRectF()
        return QRectF(0, 0, self.buffer.width, self.buffer.height)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        if self.buffer is None:
            return
        zoom = painter.worldTransform().m11()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.smooth and zoom < 1.0)
        exposed = option.exposedRect.intersected(self.boundingRect()).toAlignedRect()
        painter.drawImage(exposed, self.buffer.image, exposed)


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
        self.setScene(QGraphicsScene(self))
        self.image_item = BufferItem(smooth=True)
        self.overlay_item = BufferItem(smooth=False)
        self.overlay_item.setZValue(1)
        self.scene().addItem(self.image_item)
        self.scene().addItem(self.overlay_item)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self.setBackgroundBrush(QColor(48, 48, 48))
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.message = "Open images, a folder or a project (File menu), or drop them here."
        self._pan_from: QPointF | None = None
        self._space = False
        self.left_pans = False  # the Navigate tool: the left button pans, so a focusing click never paints
        self._fitted = True  # keep fitting on resize until the user zooms by hand

    # -- content ----------------------------------------------------------------------------------
    def set_image(self, buffer: ImageBuffer | None, fit: bool = True) -> None:
        self.image_item.set_buffer(buffer)
        if buffer is not None:
            self.message = ""
            self.scene().setSceneRect(QRectF(0, 0, buffer.width, buffer.height))
            if fit:
                self.fit()
        self.viewport().update()

    def set_overlay(self, buffer: ImageBuffer | None) -> None:
        self.overlay_item.set_buffer(buffer)

    def update_overlay(self, rect: QRectF | None = None) -> None:
        """The overlay buffer changed in place: repaint only `rect` (image pixels) if given."""
        self.overlay_item.update(rect if rect is not None else self.overlay_item.boundingRect())

    def set_overlay_opacity(self, opacity: float) -> None:
        self.overlay_item.setOpacity(opacity)

    def show_message(self, text: str) -> None:
        self.message = text
        self.image_item.set_buffer(None)
        self.overlay_item.set_buffer(None)
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

    def fit(self) -> None:
        if self.image_item.buffer is None:
            return
        self.fitInView(self.image_item, Qt.AspectRatioMode.KeepAspectRatio)
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
        buf = self.image_item.buffer
        x, y = int(p.x()), int(p.y())
        if buf is not None and 0 <= p.x() < buf.width and 0 <= p.y() < buf.height:
            self.hovered.emit(x, y)
        else:
            self.hovered.emit(-1, -1)
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
        self.hovered.emit(-1, -1)
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
