"""A person's strokes on one whole slide, without Qt: what the canvas paints on an image too large to
hold. The labels are the image's label pyramid (project.label_pyramid), never a whole mask in memory:
a stroke reads only the region it covers, is journalled (durable, fsynced) when `paint` returns, and is
written to the pyramid's chunks by this editor's writer thread a moment later, as the autosaver does
for ordinary images. Undo and redo are strokes too (the region as it was), so they are journalled and
survive a kill like any other. Reads (`labels`) see strokes not yet written."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from fcn_studio.core.editing.mask_editor import Preserve
from fcn_studio.core.editing.tools import fill_region, polygon_footprint, segment_footprint
from fcn_studio.core.events import Event, call_now
from fcn_studio.core.labels import IGNORE_INDEX
from fcn_studio.core.pyramid import level_count, level_shape
from fcn_studio.project.journal import EditJournal
from fcn_studio.project.label_pyramid import SLIDE_JOURNALS, LabelPyramid, PyramidEditor
from fcn_studio.project.project import Project

Rect = tuple[int, int, int, int]  # y0, x0, y1, x1 (exclusive), level-0 pixels
MAX_REGION = 64_000_000  # pixels in one polygon's box (its undo step holds the region twice)


@dataclass
class SlideEdit:
    """One undo step: the region's labels before and after."""

    name: str
    rect: Rect
    before: np.ndarray
    after: np.ndarray

    @property
    def nbytes(self) -> int:
        return self.before.nbytes + self.after.nbytes


def stroke_footprint(points: Sequence[tuple[float, float]], diameter: float,
                     shape: tuple[int, int]) -> tuple[Rect, np.ndarray] | None:
    """A round brush of `diameter` dragged through `points` (x, y, level-0 pixels): the rectangle it
    covers inside the image and its boolean footprint there; None when it misses the image."""
    if not points:
        return None
    pts = list(points) if len(points) > 1 else [points[0], points[0]]
    parts = [segment_footprint(a, b, max(1, round(diameter))) for a, b in zip(pts, pts[1:], strict=False)]
    y0, x0 = min(r[0] for r, _ in parts), min(r[1] for r, _ in parts)
    y1, x1 = max(r[2] for r, _ in parts), max(r[3] for r, _ in parts)
    fp = np.zeros((y1 - y0, x1 - x0), bool)
    for (a, b, c, d), part in parts:
        fp[a - y0:c - y0, b - x0:d - x0] |= part.astype(bool)
    h, w = shape
    cy0, cx0, cy1, cx1 = max(0, y0), max(0, x0), min(h, y1), min(w, x1)
    if cy0 >= cy1 or cx0 >= cx1:
        return None
    return (cy0, cx0, cy1, cx1), fp[cy0 - y0:cy1 - y0, cx0 - x0:cx1 - x0]


class SlideEditing:
    """`paint` / `undo` / `redo` on the slide `image_id` of `project` (level-0 size `shape`); `changed`
    says which level-0 rectangle to redraw, `saved` / `failed` how the writer fares (on `dispatch`'s
    thread). `close` writes what is left and lets the journal go."""

    def __init__(self, project: Project, image_id: int, shape: tuple[int, int], autosave_delay: float = 0.3,
                 undo_bytes: int = 300 * 2**20, dispatch: Callable[[Callable[[], None]], None] = call_now) -> None:
        self.project, self.image_id, self.shape = project, image_id, tuple(shape)
        self.path = project.mask_pyramid_path(image_id)
        self.pyramid = LabelPyramid.open(self.path) if self.path.is_dir() else None
        self.levels = self.pyramid.levels if self.pyramid is not None else level_count(*self.shape)
        self.autosave_delay, self.undo_bytes, self.dispatch = autosave_delay, undo_bytes, dispatch
        self.changed = Event()  # (level-0 rect)
        self.saved = Event()  # (the image's state): every stroke so far is in the chunks
        self.failed = Event()  # (message): strokes stay journalled, the writer tries again
        self.done: list[SlideEdit] = []
        self.undone: list[SlideEdit] = []
        self._editor: PyramidEditor | None = None
        self._wake = threading.Condition()
        self._closing = False
        self._now = False
        self._writer: threading.Thread | None = None
        self.error: str | None = None
        self.pixels: Callable[[Rect], np.ndarray] | None = None  # the slide's RGB of a rect (smart tools)

    # -- reading --------------------------------------------------------------------------------------
    def labels(self, level: int, rect: Rect) -> np.ndarray:
        """The labels of `rect` (in `level`'s pixels, inside it), strokes not yet written included;
        255 (unlabelled) where nobody painted."""
        if self._editor is not None:
            return self._editor.read(level, rect)
        if self.pyramid is not None:
            return self.pyramid.read(level, rect)
        return np.full((rect[2] - rect[0], rect[3] - rect[1]), IGNORE_INDEX, np.uint8)

    def class_at(self, x: int, y: int) -> int | None:
        """The class under (x, y) (Alt+click); None outside the slide or where nobody painted."""
        h, w = self.shape
        if not (0 <= x < w and 0 <= y < h):
            return None
        value = int(self.labels(0, (y, x, y + 1, x + 1))[0, 0])
        return None if value == IGNORE_INDEX else value

    def level_shape(self, level: int) -> tuple[int, int]:
        return level_shape(*self.shape, level)

    @property
    def unsaved(self) -> bool:
        return self._editor is not None and self._editor.unsaved > 0

    # -- editing --------------------------------------------------------------------------------------
    def paint(self, points: Sequence[tuple[float, float]], diameter: float, value: int,
              preserve: Preserve | None = None, name: str = "brush") -> SlideEdit | None:
        """One drag of the brush (or eraser, `value` 255) through `points`: journalled when this
        returns; None when no pixel changed."""
        found = stroke_footprint(points, diameter, self.shape)
        if found is None:
            return None
        return self.paint_region(*found, value, preserve, name)

    def fill_polygon(self, points: Sequence[tuple[float, float]], value: int, preserve: Preserve | None = None,
                     name: str = "polygon") -> SlideEdit | None:
        """A polygon (or lasso) filled with `value` (255: erased), one undo step. A polygon whose box
        holds more than MAX_REGION pixels raises ValueError (draw it in parts): its undo step alone
        would take twice that in memory."""
        found = polygon_footprint(list(points))
        if found is None:
            return None
        (y0, x0, y1, x1), fp = found
        h, w = self.shape
        cy0, cx0, cy1, cx1 = max(0, y0), max(0, x0), min(h, y1), min(w, x1)
        if cy0 >= cy1 or cx0 >= cx1:
            return None
        if (cy1 - cy0) * (cx1 - cx0) > MAX_REGION:
            raise ValueError(f"this polygon spans {(cx1 - cx0):,} x {(cy1 - cy0):,} pixels of the slide; "
                             f"draw it in parts of at most {MAX_REGION // 10**6} megapixels")
        fp = fp[cy0 - y0:cy1 - y0, cx0 - x0:cx1 - x0]
        return self.paint_region((cy0, cx0, cy1, cx1), fp, value, preserve, name)

    def accept(self, rect: Rect, prediction: np.ndarray) -> SlideEdit | None:
        """Accept Prediction over `rect` (the view): the model's labels (`prediction`, of the rect)
        become the person's where the person has none; what the person painted stays. One undo step,
        refused past MAX_REGION pixels like a polygon."""
        y0, x0, y1, x1 = rect
        if (y1 - y0) * (x1 - x0) > MAX_REGION:
            raise ValueError(f"accepting {(x1 - x0):,} x {(y1 - y0):,} pixels at once is too much for one undo "
                             f"step; zoom in to at most {MAX_REGION // 10**6} megapixels")
        before = self.labels(0, rect)
        fp = (before == IGNORE_INDEX) & (prediction != IGNORE_INDEX)
        return self.paint_region(rect, fp, prediction, None, "accept prediction")

    def flood_fill(self, x: int, y: int, value: int, bounds: Rect,
                   preserve: Preserve | None = None) -> SlideEdit | None:
        """The Fill tool: the 4-connected region of the class under (x, y), within `bounds` (the view:
        a slide's region of one class can be as large as the slide), becomes `value`."""
        h, w = self.shape
        y0, x0, y1, x1 = max(0, bounds[0]), max(0, bounds[1]), min(h, bounds[2]), min(w, bounds[3])
        if not (y0 <= y < y1 and x0 <= x < x1):
            return None
        if (y1 - y0) * (x1 - x0) > MAX_REGION:
            raise ValueError(f"the view holds {(x1 - x0):,} x {(y1 - y0):,} pixels of the slide; zoom in to fill "
                             f"(at most {MAX_REGION // 10**6} megapixels at once)")
        (ry0, rx0, ry1, rx1), footprint = fill_region(self.labels(0, (y0, x0, y1, x1)), x - x0, y - y0)
        return self.paint_region((ry0 + y0, rx0 + x0, ry1 + y0, rx1 + x0), footprint, value, preserve, "fill")

    def paint_region(self, rect: Rect, fp: np.ndarray, value, preserve: Preserve | None,
                     name: str) -> SlideEdit | None:
        """`value` (a class, or an array of `rect`) where the boolean footprint `fp` of `rect` is set,
        within `preserve`'s rule: one undo step, journalled when this returns."""
        before = self.labels(0, rect)
        allowed = (preserve or Preserve()).allowed(before)
        where = fp if allowed is None else fp & allowed
        after = before.copy()
        after[where] = value[where] if isinstance(value, np.ndarray) else value
        changed = before != after
        if not changed.any():
            return None
        rows, cols = np.flatnonzero(changed.any(1)), np.flatnonzero(changed.any(0))
        cut = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
        rect = (rect[0] + rows[0], rect[1] + cols[0], rect[0] + rows[-1] + 1, rect[1] + cols[-1] + 1)
        edit = SlideEdit(name, tuple(int(v) for v in rect), before[cut].copy(), after[cut].copy())
        self._write(edit.rect, edit.after)
        self.done.append(edit)
        self.undone.clear()
        self._keep_within_budget()
        return edit

    def undo(self) -> SlideEdit | None:
        return self._replay(self.done, self.undone, undo=True)

    def redo(self) -> SlideEdit | None:
        return self._replay(self.undone, self.done, undo=False)

    def _replay(self, source: list[SlideEdit], target: list[SlideEdit], undo: bool) -> SlideEdit | None:
        """The newest step of `source` written back (its region as before, or as after), onto `target`."""
        if not source:
            return None
        edit = source.pop()
        self._write(edit.rect, edit.before if undo else edit.after)
        target.append(edit)
        return edit

    def _keep_within_budget(self) -> None:
        while len(self.done) > 1 and sum(e.nbytes for e in self.done) > self.undo_bytes:
            self.done.pop(0)

    def _write(self, rect: Rect, patch: np.ndarray) -> None:
        if self._editor is None:
            if self.pyramid is None and self.path.is_dir():  # made meanwhile by an earlier opening of it
                self.pyramid = LabelPyramid.open(self.path)
            if self.pyramid is None:  # the first stroke: the pyramid exists before anything is journalled
                self.pyramid = LabelPyramid.create(self.path, self.shape, colors={
                    i: c for i, c in enumerate(self.project.labels.colors)})
            self._editor = PyramidEditor(self.pyramid, EditJournal(self.project.root, SLIDE_JOURNALS), self.image_id)
            self._writer = threading.Thread(target=self._write_loop, name="slide-writer", daemon=True)
            self._writer.start()
        self._editor.stroke(rect, patch)  # durable here
        with self._wake:
            self._wake.notify_all()
        self.changed.emit(rect)

    # -- the writer ---------------------------------------------------------------------------------------
    def _write_loop(self) -> None:
        editor = self._editor
        while True:
            with self._wake:
                while not self._closing and editor.unsaved == 0:
                    self._wake.wait()
                # strokes close together are written together; `flush` and `close` do not wait
                self._wake.wait_for(lambda: self._closing or self._now, self.autosave_delay)
                self._now = False
                closing = self._closing
            if editor.unsaved:
                self._flush_once()
            if closing and editor.unsaved == 0:
                return
            if closing and self.error is not None:
                return  # cannot write: the journal keeps the strokes for the next opening

    def _flush_once(self) -> None:
        try:
            self._editor.flush()
            state = self.project.slide_labels_saved(self.image_id)
        except Exception as exc:  # noqa: BLE001 - a full disk, a vanished folder: said, and kept in the journal
            self.error = f"cannot write the labels of {self.path.name}: {exc}"
            message = self.error
            self.dispatch(lambda: self.failed.emit(message))
            with self._wake:
                if not self._closing:
                    self._wake.wait(2.0)
            return
        self.error = None
        with self._wake:
            self._wake.notify_all()  # for `flush`
        if self._editor.unsaved == 0:
            self.dispatch(lambda: self.saved.emit(state))

    def flush(self, timeout: float = 30.0) -> bool:
        """Waits until every stroke is in the chunks; False if it could not be done in time."""
        if self._editor is None:
            return True
        with self._wake:
            self._now = True  # the writer goes now, without its delay
            self._wake.notify_all()
            return self._wake.wait_for(lambda: self._editor.unsaved == 0, timeout)

    def close(self, timeout: float = 30.0) -> bool:
        """Writes what is left; the journal goes when everything is written, else it stays for the
        next opening of the project to replay. Returns whether everything was written."""
        if self._editor is None:
            return True
        with self._wake:
            self._closing = True
            self._wake.notify_all()
        self._writer.join(timeout)
        ok = self._editor.unsaved == 0 and not self._writer.is_alive()
        if ok:
            self._editor.journal.close()
        else:
            self._editor.journal.release_for_replay()
        return ok
