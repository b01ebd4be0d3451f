"""The Click tool: an object from a few clicks. A left click says "this object" (positive), a right
click or Shift+click "not this" (negative); after each, the click model (ws.clicks) answers off the GUI
thread and the proposed object is outlined. Backspace takes the last click back, Esc drops them all,
Enter paints the object into the current class, through the tools panel's "Paint over" rule, as one
undo step like a stroke. Clicks made while the model answers are answered together when it is done."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import cv2
import numpy as np
from PySide6.QtCore import QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsItem, QGraphicsPathItem

from fcn_studio.core.clicks import Click
from fcn_studio.core.editing.mask_editor import Preserve

if TYPE_CHECKING:
    from fcn_studio.ui.canvas.view import CanvasView
    from fcn_studio.ui.shell import Shell
    from fcn_studio.workspace import Workspace

MARK = 9  # screen pixels across a click's mark


class Answer:
    """The model's answer to some clicks, with what the GUI thread needs of it worked out beforehand in
    the worker (on a 100-megapixel image, its bounding box and borders take longer than a frame)."""

    def __init__(self, count: int, selection: np.ndarray, origin: tuple[int, int] = (0, 0)) -> None:
        """`origin`: where the selection's image lies in the picture (a region of a whole slide)."""
        self.count, self.shape, self.origin = count, selection.shape, origin
        rows, cols = np.flatnonzero(selection.any(1)), np.flatnonzero(selection.any(0))
        self.rect = None if not len(rows) else (int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1)
        self.local = None  # the selection inside `rect` only: twenty answers on a gigapixel image fit in memory
        self.contours: list[np.ndarray] = []
        if self.rect is not None:
            y0, x0, y1, x1 = self.rect
            self.local = selection[y0:y1, x0:x1].copy()
            found, _ = cv2.findContours(self.local.astype(np.uint8), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
            oy, ox = origin
            self.contours = [c[:, 0, :].astype(float) + (x0 + ox + 0.5, y0 + oy + 0.5) for c in found]

    @property
    def selection(self) -> np.ndarray:
        """The whole image's selection (made when asked: the worker's next input, tests)."""
        full = np.zeros(self.shape, bool)
        if self.rect is not None:
            y0, x0, y1, x1 = self.rect
            full[y0:y1, x0:x1] = self.local
        return full


def outline_path(contours: list[np.ndarray]) -> QPainterPath:
    """The selection's borders (outer and holes) as a path in scene (image pixel) coordinates."""
    path = QPainterPath()
    for pts in contours:
        path.moveTo(*pts[0])
        for x, y in pts[1:]:
            path.lineTo(x, y)
        path.closeSubpath()
    return path


SLIDE_WINDOW = 16_000_000  # on a whole slide, the tool looks at the view, up to this many pixels


class _Target:
    """What the clicks are on: an image's pixels, or a region of a whole slide (the view when the first
    click was made: `origin` in the slide, its pixels read in the worker on the first answer). Clicks
    are kept in the target's own pixels."""

    def __init__(self, image_id: int, shape: tuple[int, int], image: np.ndarray | None = None,
                 origin: tuple[int, int] = (0, 0), slide=None) -> None:
        self.image_id, self.shape, self.image, self.origin, self.slide = image_id, shape, image, origin, slide

    def pixels(self) -> np.ndarray:
        if self.image is None:
            y0, x0 = self.origin
            self.image = self.slide.pixels((y0, x0, y0 + self.shape[0], x0 + self.shape[1]))
        return self.image


def _load(nets: dict, key: str):
    """The network in `key`, read once (in the smart lane, whose one thread is the only reader); a
    failure (a bad file) is raised to whoever asked: the tool says why when a click needs it."""
    from fcn_studio.model.click_net import load_click_model  # noqa: PLC0415 (torch, off the GUI thread)

    if key not in nets:
        nets.clear()
        nets[key] = load_click_model(key)[0]
    return nets[key]


class ClickTool(QObject):
    finished = Signal()  # an object was painted (an undo step)
    notice = Signal(str)  # why a click did nothing, or the tool is off
    busy = Signal(str)

    def __init__(self, workspace: Workspace, shell: Shell, canvas: CanvasView,
                 paint: Callable[[], tuple[int, Preserve]]) -> None:
        super().__init__(canvas)
        self.ws, self.shell, self.canvas, self.paint = workspace, shell, canvas, paint
        self.clicks: list[Click] = []
        # the model's answers, each to the first `count` clicks; Backspace goes back one
        self.answers: list[Answer] = []
        self._target: _Target | None = None
        self._working = False
        self._commit_when_answered = False
        self._nets: dict[str, object] = {}  # model file -> loaded network (read in the smart lane)
        self.outline = QGraphicsPathItem()
        pen = QPen(QColor("#00e5ff"))
        pen.setCosmetic(True)
        pen.setWidth(2)
        self.outline.setPen(pen)
        self.outline.setZValue(11)
        canvas.scene().addItem(self.outline)
        self.marks: list[QGraphicsEllipseItem] = []
        workspace.current_changed.connect(lambda _i: self.cancel())
        workspace.clicks.changed.connect(lambda _p: self._nets.clear())

    # -- clicks ---------------------------------------------------------------------------------------
    def chosen(self) -> None:
        """The tool was picked: the model is read now, off the GUI thread, so the first click only
        answers; the start model is made now if the machine has none (minutes, once)."""
        if not self.ws.clicks.ensure():
            self.notice.emit(f"Click tool: {self.ws.clicks.state}. Clicks work once it is ready.")
            return
        key, nets = str(self.ws.clicks.path()), self._nets
        self.shell.background(lambda: _load(nets, key), lambda _n: None, lambda _m, _d: None, self.shell.lanes.smart)

    def press(self, pos: QPointF, button, modifiers) -> None:
        target = self._target_for()
        if target is None:
            return
        y, x = int(pos.y()) - target.origin[0], int(pos.x()) - target.origin[1]
        if not (0 <= x < target.shape[1] and 0 <= y < target.shape[0]):
            if self.clicks and target.slide is not None:
                self.notice.emit("Click tool: that click is outside the part of the slide the clicks are on (the "
                                 "view at the first click); Enter paints the object, Esc starts again")
            return
        if not self.ws.clicks.ensure():
            self.notice.emit(f"Click tool: {self.ws.clicks.state or 'the click model is not ready yet'}. "
                             "Clicks work once it is ready.")
            return
        negative = button == Qt.MouseButton.RightButton or bool(modifiers & Qt.KeyboardModifier.ShiftModifier)
        self.clicks.append(Click(y, x, not negative))
        self._draw_marks()
        self._ask()

    def _target_for(self) -> _Target | None:
        """The clicks' target: the one they are on, or a new one for a first click (the image shown, or
        the slide's part in view); None when nothing can be clicked on (or the view holds too much)."""
        ws = self.ws
        if ws.editor is not None and ws.current_image is not None:
            image_id = ws.editing.current_id
            if self._target is None or self._target.image_id != image_id or self._target.slide is not None:
                self.cancel()
                self._target = _Target(image_id, ws.current_image.shape[:2], ws.current_image)
            return self._target
        slide = ws.slide
        if slide is None or slide.pixels is None:
            return None
        if self._target is not None and self._target.slide is slide and self.clicks:
            return self._target
        self.cancel()
        view = self.canvas.visible_rect(slide.shape)
        if view is None:
            return None
        y0, x0, y1, x1 = view
        if (y1 - y0) * (x1 - x0) > SLIDE_WINDOW:
            self.notice.emit(f"Click tool: zoom in; on a whole slide it looks at the view, up to "
                             f"{SLIDE_WINDOW // 10**6} megapixels")
            return None
        self._target = _Target(ws.current_id, (y1 - y0, x1 - x0), origin=(y0, x0), slide=slide)
        return self._target

    def remove_last(self) -> bool:
        """Backspace: the last click goes, and the object goes back to what it was before it."""
        if not self.clicks:
            return False
        self.clicks.pop()
        self.answers = [a for a in self.answers if a.count <= len(self.clicks)]
        self._draw_marks()
        self._show(self.answers[-1] if self.answers and self.clicks else None)
        self._ask()
        return True

    @property
    def answer(self) -> Answer | None:
        """The model's answer to all the clicks so far (None while it is being answered)."""
        return self.answers[-1] if self.answers and self.answers[-1].count == len(self.clicks) else None

    @property
    def selection(self) -> np.ndarray | None:
        """The object the model proposes for all the clicks so far (None while it is being answered)."""
        return None if self.answer is None else self.answer.selection

    def cancel(self) -> None:
        self.clicks, self.answers = [], []
        self._commit_when_answered = False
        self._target = None
        self._draw_marks()
        self._show(None)

    def commit(self) -> bool:
        """Enter: paints the proposed object (once the answer to the last click is in)."""
        if not self.clicks:
            return False
        answer = self.answer
        if self._working or answer is None:
            self._commit_when_answered = True
            self._ask()
            return True
        target, rect = self._target, answer.rect
        editor = self.ws.editor if target is not None and target.slide is None else None
        if rect is None or target is None or (editor is None and target.slide is not self.ws.slide) or (
                editor is not None and self.ws.editing.current_id != target.image_id):
            self.notice.emit("Click tool: nothing to paint (no object is selected).")
            return False
        value, preserve = self.paint()
        if editor is not None:
            editor.begin("click object")
            editor.apply(rect, answer.local, value, preserve)
            changed = editor.end() is not None
        else:  # a region of a whole slide
            (oy, ox), (y0, x0, y1, x1) = target.origin, rect
            changed = target.slide.paint_region((y0 + oy, x0 + ox, y1 + oy, x1 + ox), answer.local, value, preserve,
                                                "click object") is not None
        self.cancel()
        if changed:
            self.finished.emit()
        else:
            self.notice.emit("Click tool changed nothing: the object is that class already, or \"Paint over\" "
                             "protects it.")
        return True

    # -- the model ------------------------------------------------------------------------------------
    def _ask(self) -> None:
        if self._working or not self.clicks or self.answer is not None:
            return  # clicks made while the model answers are answered together once it is done
        path, target = self.ws.clicks.path(), self._target
        if path is None or target is None:
            return
        clicks = tuple(self.clicks)
        last = self.answers[-1] if self.answers else None
        self._working = True
        self.busy.emit("Click: finding the object...")
        key, nets = str(path), self._nets

        def answer():
            from fcn_studio.inference.click_session import ClickSession  # noqa: PLC0415 (torch, off the GUI thread)

            net = _load(nets, key)
            previous = None if last is None else last.selection
            return Answer(len(clicks), ClickSession(net, target.pixels()).answer(clicks, previous), target.origin)

        def done(answer: Answer) -> None:
            self._working = False
            self.busy.emit("")
            if target is not self._target or tuple(self.clicks[: len(clicks)]) != clicks:
                self._ask()  # Backspace or Esc meanwhile: answer what is there now
                return
            self.answers = [*(a for a in self.answers if a.count < len(clicks)), answer]
            self._show(answer)
            if len(self.clicks) > len(clicks):  # clicks made meanwhile
                self._ask()
            elif self._commit_when_answered:
                self._commit_when_answered = False
                self.commit()

        def failed(message: str, _details: str) -> None:
            self._working = False
            self.busy.emit("")
            self.cancel()
            self.notice.emit(f"Click tool is off: {message.splitlines()[0] if message else 'the click model failed'}")

        self.shell.background(answer, done, failed, self.shell.lanes.smart)

    # -- drawing --------------------------------------------------------------------------------------
    def _show(self, answer: Answer | None) -> None:
        self.outline.setPath(QPainterPath() if answer is None else outline_path(answer.contours))

    def _draw_marks(self) -> None:
        scene = self.canvas.scene()
        for item in self.marks:
            scene.removeItem(item)
        self.marks = []
        oy, ox = self._target.origin if self._target is not None else (0, 0)
        for c in self.clicks:
            mark = QGraphicsEllipseItem(QRectF(-MARK / 2, -MARK / 2, MARK, MARK))
            mark.setPos(c.x + ox + 0.5, c.y + oy + 0.5)
            mark.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
            mark.setBrush(QBrush(QColor("#3cdc50" if c.positive else "#ff3c3c")))
            mark.setPen(QPen(QColor("white")))
            mark.setZValue(12)
            scene.addItem(mark)
            self.marks.append(mark)
