"""Turns canvas mouse events into editing operations for the current tool, and draws the brush
footprint (sized in image pixels, so it is true at every zoom) and the polygon, lasso and box
previews. Right-button strokes and fills erase. The Click tool's own state lives in click_tool.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsPathItem

from fcn_studio.core.editing.grabcut import MARGIN, grabcut_region
from fcn_studio.core.editing.tools import Stroke, class_at, fill_polygon, flood_fill
from fcn_studio.ui.canvas.click_tool import ClickTool
from fcn_studio.ui.canvas.slide_brush import SlideBrush
from fcn_studio.ui.canvas.view import CanvasView
from fcn_studio.ui.panels.tools_panel import ToolsPanel
from fcn_studio.workspace.slide_editing import MAX_REGION

if TYPE_CHECKING:
    from fcn_studio.ui.shell import Shell
    from fcn_studio.workspace import Workspace


def _pen(colour: str) -> QPen:
    pen = QPen(QColor(colour))
    pen.setCosmetic(True)
    pen.setWidth(1)
    return pen


class ToolController(QObject):
    class_picked = Signal(int)
    operation_finished = Signal()
    busy = Signal(str)  # a slow tool (smart selection) is working; "" when done
    failed = Signal(str)
    notice = Signal(str)  # a tool did nothing, and why (for the status bar)

    def __init__(self, workspace: Workspace, shell: Shell, canvas: CanvasView, panel: ToolsPanel) -> None:
        super().__init__(canvas)
        self.workspace, self.shell, self.canvas, self.panel = workspace, shell, canvas, panel
        self.session = workspace.editing
        self.current_class = 1
        self._stroke: Stroke | None = None
        self._after_stroke: list[Callable[[], None]] = []  # background results waiting for the stroke
        self._points: list[tuple[float, float]] = []
        self._dragging_lasso = False
        self._erasing = False
        self._box_start: QPointF | None = None
        self.cursor = QGraphicsEllipseItem()
        self.cursor.setPen(_pen("white"))
        self.cursor.setZValue(10)
        self.preview = QGraphicsPathItem()
        self.preview.setPen(_pen("yellow"))
        self.preview.setZValue(10)
        canvas.scene().addItem(self.cursor)
        canvas.scene().addItem(self.preview)
        canvas.pressed.connect(self._pressed)
        canvas.moved.connect(self._moved)
        canvas.released.connect(self._released)
        canvas.double_clicked.connect(lambda _p: self.close_polygon())
        panel.tool_changed.connect(self._tool_changed)
        canvas.set_left_pans(panel.tool() == "navigate")
        panel.size_changed.connect(lambda _s: self._update_cursor(self._last_pos))
        canvas.zoom_changed.connect(lambda _z: self._update_cursor(self._last_pos))  # a slide's brush: on screen
        self._last_pos = QPointF(-1e6, -1e6)
        self.click_tool = ClickTool(workspace, shell, canvas, lambda: (self._value(False), self.panel.preserve_rule()))
        self.click_tool.finished.connect(self.operation_finished)
        self.click_tool.notice.connect(self.notice)
        self.click_tool.busy.connect(self.busy)
        self.slide_brush = SlideBrush(workspace, canvas, panel)  # on a whole slide, instead of Stroke

    # -- values -------------------------------------------------------------------------------------
    def _value(self, erase: bool) -> int:
        return int(self.panel.eraser.currentData()) if erase else self.current_class

    def set_class(self, index: int) -> None:
        self.current_class = index
        self.class_picked.emit(index)

    def _tool_changed(self, tool: str) -> None:
        self.cancel()
        self.canvas.set_left_pans(tool == "navigate")
        if tool == "click":
            self.click_tool.chosen()

    # -- events -------------------------------------------------------------------------------------
    def _pressed(self, pos: QPointF, button, modifiers) -> None:
        """On an ordinary image the tools edit its mask (MaskEditor); on a whole slide its labels
        (SlideEditing: the brush through slide_brush, Fill within the view). The others are the same."""
        editor, slide = self.workspace.editor, self.workspace.slide
        if editor is None and slide is None:
            return
        x, y = pos.x() - 0.5, pos.y() - 0.5  # pixel centres sit at integer coordinates
        if modifiers & Qt.KeyboardModifier.AltModifier:
            picked = class_at(editor, int(pos.x()), int(pos.y())) if editor is not None else \
                slide.class_at(int(pos.x()), int(pos.y()))
            if picked is not None:
                self.set_class(picked)
            return
        tool = self.panel.tool()
        erase = tool == "eraser" or button == Qt.MouseButton.RightButton
        if tool in ("brush", "eraser") and editor is None:
            self.slide_brush.press(pos, self._value(erase), erase)
        elif tool in ("brush", "eraser"):
            self._stroke = Stroke(editor, self._value(erase), self.panel.size.value(), self.panel.preserve_rule(),
                                  "eraser" if erase else "brush")
            self._stroke.to(x, y)
        elif tool == "fill" and editor is None:
            view = self.canvas.visible_rect(slide.shape)
            self._slide_step(lambda s: None if view is None else s.flood_fill(
                int(pos.x()), int(pos.y()), self._value(erase), view, self.panel.preserve_rule()))
        elif tool == "fill":
            if flood_fill(editor, int(pos.x()), int(pos.y()), self._value(erase), self.panel.preserve_rule()):
                self.operation_finished.emit()
        elif tool == "polygon":
            if button == Qt.MouseButton.RightButton:
                self.close_polygon()
            else:
                self._points.append((x, y))
                self._draw_preview(pos)
        elif tool == "lasso":
            self._points = [(x, y)]
            self._dragging_lasso = True
            self._erasing = erase
        elif tool == "smart":
            self._box_start = pos
        elif tool == "click":
            self.click_tool.press(pos, button, modifiers)

    def _moved(self, pos: QPointF, modifiers) -> None:
        self._last_pos = pos
        self._update_cursor(pos)
        if self.slide_brush.active:
            self.slide_brush.move(pos)
        elif self._stroke is not None:
            self._stroke.to(pos.x() - 0.5, pos.y() - 0.5)
        elif self._dragging_lasso:
            self._points.append((pos.x() - 0.5, pos.y() - 0.5))
            self._draw_preview(None)
        elif self._box_start is not None:
            path = QPainterPath()
            path.addRect(QRectF(self._box_start, pos).normalized())
            self.preview.setPath(path)
        elif self._points:
            self._draw_preview(pos)

    def _released(self, pos: QPointF, button) -> None:
        if self.slide_brush.active:
            if self.slide_brush.release(self.panel.preserve_rule()):
                self.operation_finished.emit()
        elif self._stroke is not None:
            stroke, self._stroke = self._stroke, None
            if stroke.finish() is not None:
                self.operation_finished.emit()
            waiting, self._after_stroke = self._after_stroke, []
            for apply in waiting:
                apply()
        elif self._dragging_lasso:
            self._dragging_lasso = False
            points, self._points = self._points, []
            self.preview.setPath(QPainterPath())
            if self._fill(points, self._value(self._erasing), "lasso"):
                self.operation_finished.emit()
        elif self._box_start is not None:
            start, self._box_start = self._box_start, None
            self.preview.setPath(QPainterPath())
            self._smart_select(start, pos)

    def _slide_step(self, step: Callable) -> bool:
        """One edit of the slide's labels; a refusal (too large for one step) said in the status bar."""
        slide = self.workspace.slide
        if slide is None:
            return False
        try:
            done = step(slide) is not None
        except ValueError as exc:
            self.notice.emit(str(exc))
            return False
        if done:
            self.operation_finished.emit()
        return done

    # -- polygon ------------------------------------------------------------------------------------
    def close_polygon(self, erase: bool = False) -> None:
        """Fills the polygon with the current class, or erases its inside (Shift+Enter); with the Click
        tool, paints the object the clicks found."""
        if self.panel.tool() == "click":
            self.click_tool.commit()
            return
        points, self._points = self._points, []
        self.preview.setPath(QPainterPath())
        if len(points) >= 3 and self._fill(points, self._value(erase), "erase polygon" if erase else "polygon"):
            self.operation_finished.emit()

    def _fill(self, points: list[tuple[float, float]], value: int, name: str) -> bool:
        """A polygon or lasso filled in the current image's mask, or in a whole slide's labels."""
        editor, slide = self.workspace.editor, self.workspace.slide
        if editor is not None:
            return fill_polygon(editor, points, value, self.panel.preserve_rule(), name) is not None
        if slide is None:
            return False
        try:
            return slide.fill_polygon(points, value, self.panel.preserve_rule(), name) is not None
        except ValueError as exc:  # too large for one step
            self.notice.emit(str(exc))
            return False

    def remove_last(self) -> None:
        """Backspace: the polygon's last corner, or the Click tool's last click."""
        if self._points and not self._dragging_lasso:
            self._points.pop()
            self._draw_preview(self._last_pos if self._points else None)
        elif self.panel.tool() == "click":
            self.click_tool.remove_last()

    def take_polygon(self) -> list[tuple[float, float]]:
        """The polygon being drawn (for relabel-inside-a-selection), which ends the drawing."""
        points, self._points = self._points, []
        self.cancel()
        return points

    def cancel(self) -> None:
        """Esc: drops an unfinished polygon, lasso or box (a stroke in progress is kept: it is drawn)."""
        self._points = []
        self._dragging_lasso = False
        self._box_start = None
        self.preview.setPath(QPainterPath())
        self.click_tool.cancel()
        self._update_cursor(self._last_pos)

    def _draw_preview(self, cursor: QPointF | None) -> None:
        path = QPainterPath()
        if self._points:
            path.moveTo(self._points[0][0] + 0.5, self._points[0][1] + 0.5)
            for x, y in self._points[1:]:
                path.lineTo(x + 0.5, y + 0.5)
            if cursor is not None:
                path.lineTo(cursor)
        self.preview.setPath(path)

    def _update_cursor(self, pos: QPointF) -> None:
        tool = self.panel.tool()
        if tool not in ("brush", "eraser") or pos.x() < -1e5:
            self.cursor.hide()
            return
        d = self.panel.size.value() if self.workspace.slide is None else self.slide_brush.diameter()
        self.cursor.setRect(QRectF(pos.x() - d / 2, pos.y() - d / 2, d, d))
        self.cursor.show()

    # -- smart selection ----------------------------------------------------------------------------
    def _when_no_stroke(self, apply: Callable[[], None]) -> None:
        """A result from the background never cuts into a stroke (which holds the editor's open
        operation): it waits for the button's release and becomes its own undo step after it."""
        if self._stroke is not None:
            self._after_stroke.append(apply)
        else:
            apply()

    def _smart_select(self, a: QPointF, b: QPointF) -> None:
        """GrabCut on the box in the smart lane, its object painted as one step: into the image's mask, or
        into a whole slide's labels (GrabCut then sees the box's pixels read from the slide, with a margin)."""
        job = self._smart_on_slide(a, b) if self.workspace.editor is None else self._smart_on_image(a, b)
        if job is None:
            return
        work, current, paint = job
        self.busy.emit("Smart selection...")

        def apply(result) -> None:
            if not current():
                return  # the user moved on; the selection belongs to an image no longer shown
            rect, fg = result
            if not fg.any():
                self.notice.emit("Smart box found nothing in the box: drag it snugly around one object, "
                                 "with a little background on every side.")
            elif not paint(rect, fg):
                self.notice.emit("Smart box changed nothing: what it found is that class already, or "
                                 "\"Paint over\" protects it.")

        def done(result) -> None:
            self.busy.emit("")
            self._when_no_stroke(lambda: apply(result))

        def failed(message: str, _details: str) -> None:
            self.busy.emit("")
            self.failed.emit(message)

        self.shell.background(work, done, failed, self.shell.lanes.smart)

    def _smart_on_image(self, a: QPointF, b: QPointF):
        editor, image, image_id = self.workspace.editor, self.workspace.current_image, self.session.current_id
        if editor is None or image is None:
            return None
        box = (a.x(), a.y(), b.x(), b.y())
        value, preserve = self._value(False), self.panel.preserve_rule()

        def paint(rect, fg) -> bool:
            editor.begin("smart selection")
            editor.apply(rect, fg, value, preserve)
            if editor.end() is None:
                return False
            self.operation_finished.emit()
            return True

        return (lambda: grabcut_region(image, box),
                lambda: self.session.current_id == image_id and self.workspace.editor is editor, paint)

    def _smart_on_slide(self, a: QPointF, b: QPointF):
        slide = self.workspace.slide
        if slide is None or slide.pixels is None:
            return None
        x0, x1 = sorted((int(a.x()), int(b.x())))
        y0, y1 = sorted((int(a.y()), int(b.y())))
        h, w = slide.shape
        cy0, cx0, cy1, cx1 = max(0, y0 - MARGIN), max(0, x0 - MARGIN), min(h, y1 + MARGIN), min(w, x1 + MARGIN)
        if (cy1 - cy0) * (cx1 - cx0) > MAX_REGION:
            self.notice.emit(f"Smart box: that box holds more than {MAX_REGION // 10**6} megapixels of the slide; "
                             f"zoom in and draw it around one object")
            return None
        value, preserve = self._value(False), self.panel.preserve_rule()

        def work():
            (ry0, rx0, ry1, rx1), fg = grabcut_region(slide.pixels((cy0, cx0, cy1, cx1)),
                                                      (x0 - cx0, y0 - cy0, x1 - cx0, y1 - cy0))
            return (ry0 + cy0, rx0 + cx0, ry1 + cy0, rx1 + cx0), fg

        return (work, lambda: self.workspace.slide is slide,
                lambda rect, fg: self._slide_step(lambda s: s.paint_region(rect, fg, value, preserve,
                                                                           "smart selection")))
