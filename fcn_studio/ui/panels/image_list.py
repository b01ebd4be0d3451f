"""The image list: thumbnails made off the GUI thread and cached, a state badge per image, a filter
by state and name, and keyboard navigation. The model holds plain records; only rows that are on
screen ask for thumbnails, so ten thousand images list at once and fill in as they come."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np
from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QRect,
    QRunnable,
    QSize,
    QSortFilterProxyModel,
    Qt,
    QThreadPool,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLineEdit,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QVBoxLayout,
    QWidget,
)

from fcn_studio.core.thumbnails import make_thumbnail
from fcn_studio.project.project import ImageRecord

THUMB = 64
ID_ROLE = Qt.ItemDataRole.UserRole + 1
STATE_ROLE = Qt.ItemDataRole.UserRole + 2
UNSAVED_ROLE = Qt.ItemDataRole.UserRole + 3
STATE_COLOURS = {"new": QColor(130, 130, 130), "predicted": QColor(230, 160, 20),
                 "corrected": QColor(40, 140, 230), "reviewed": QColor(40, 170, 80)}
# The words for an image's state, everywhere (menus, filter, badges, README): new (no mask yet), predicted
# (the model's mask), corrected (a person's), reviewed (a person checked it); "uncorrected" is new or
# predicted. "Unlabelled" is reserved for pixels (255, ignored), never for images.
UNCORRECTED = ("new", "predicted")
FILTERS = (("all", "All images"), ("uncorrected", "Uncorrected (new or predicted)"), ("new", "New"),
           ("predicted", "Predicted"), ("corrected", "Corrected"), ("reviewed", "Reviewed"))


class _ThumbSignals(QObject):
    ready = Signal(int, int, QImage)  # generation, image id, thumbnail
    failed = Signal(int, int, str)  # generation, image id, message


class _ThumbJob(QRunnable):
    """Made for one generation of the list: image ids are only unique within one project."""

    def __init__(self, generation: int, image_id: int, path: Path, signals: _ThumbSignals) -> None:
        super().__init__()
        self.generation, self.image_id, self.path, self.signals = generation, image_id, path, signals

    def run(self) -> None:
        try:
            rgb = np.ascontiguousarray(make_thumbnail(self.path, THUMB))
        except (OSError, ValueError) as exc:
            self.signals.failed.emit(self.generation, self.image_id, str(exc))
            return
        h, w = rgb.shape[:2]
        image = QImage(rgb.data, w, h, w * 3, QImage.Format.Format_RGB888).copy()
        self.signals.ready.emit(self.generation, self.image_id, image)


class ImageListModel(QAbstractListModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.records: list[ImageRecord] = []
        self.paths: dict[int, Path] = {}
        self.errors: dict[int, str] = {}
        self.unsaved: set[int] = set()
        self.reason: tuple[int, str] | None = None  # the image N chose last, and why (its tooltip says so)
        self.row_of: dict[int, int] = {}
        self._thumbs: OrderedDict[int, QPixmap] = OrderedDict()
        self._asked: set[int] = set()
        self._generation = 0  # bumped by set_records: results of an earlier list are dropped
        self.pool = QThreadPool(self)  # thumbnails have a lane of their own: slow jobs never delay them
        self.pool.setMaxThreadCount(2)
        self._signals = _ThumbSignals()
        self._signals.ready.connect(self._thumb_ready)
        self._signals.failed.connect(self._thumb_failed)

    def set_records(self, records: list[ImageRecord], paths: dict[int, Path]) -> None:
        self.pool.clear()
        self._generation += 1
        self.beginResetModel()
        self.records = list(records)
        self.paths = paths
        self.row_of = {r.id: i for i, r in enumerate(self.records)}
        self._thumbs.clear()
        self._asked.clear()
        self.errors.clear()
        self.reason = None
        self.endResetModel()

    def set_unsaved(self, image_id: int, unsaved: bool) -> None:
        (self.unsaved.add if unsaved else self.unsaved.discard)(image_id)
        row = self.row_of.get(image_id)
        if row is not None:
            idx = self.index(row)
            self.dataChanged.emit(idx, idx)

    def set_reason(self, image_id: int, reason: str) -> None:
        """Why `image_id` comes next (workspace.next_image), in its tooltip until another is chosen."""
        before, self.reason = self.reason, (image_id, reason)
        for row in {self.row_of.get(i) for i in (image_id, before[0] if before else None)} - {None}:
            self.dataChanged.emit(self.index(row), self.index(row), [Qt.ItemDataRole.ToolTipRole])

    def update_record(self, record: ImageRecord) -> None:
        row = self.row_of.get(record.id)
        if row is not None:
            self.records[row] = record
            idx = self.index(row)
            self.dataChanged.emit(idx, idx)

    def record(self, image_id: int) -> ImageRecord | None:
        row = self.row_of.get(image_id)
        return None if row is None else self.records[row]

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.records)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        rec = self.records[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return rec.name
        if role == Qt.ItemDataRole.DecorationRole:
            return self._thumbnail(rec.id)
        if role == Qt.ItemDataRole.ToolTipRole:
            error = self.errors.get(rec.id)
            why = self.reason[1] if self.reason and self.reason[0] == rec.id and rec.state in UNCORRECTED else None
            return (f"{self.paths.get(rec.id, rec.path)}\n{rec.state}" + (f"\n{error}" if error else "")
                    + (f"\n{why}" if why else ""))
        if role == ID_ROLE:
            return rec.id
        if role == STATE_ROLE:
            return rec.state
        if role == UNSAVED_ROLE:
            return rec.id in self.unsaved
        return None

    def _thumbnail(self, image_id: int) -> QPixmap | None:
        pix = self._thumbs.get(image_id)
        if pix is not None:
            self._thumbs.move_to_end(image_id)
            return pix
        if image_id not in self._asked and image_id in self.paths:
            self._asked.add(image_id)
            self.pool.start(_ThumbJob(self._generation, image_id, self.paths[image_id], self._signals))
        return None

    def _thumb_ready(self, generation: int, image_id: int, image: QImage) -> None:
        if generation != self._generation:
            return  # made for a list that has since been replaced (another project, same ids)
        self._thumbs[image_id] = QPixmap.fromImage(image)
        while len(self._thumbs) > 2000:
            old, _ = self._thumbs.popitem(last=False)
            self._asked.discard(old)
        row = self.row_of.get(image_id)
        if row is not None:
            idx = self.index(row)
            self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DecorationRole])

    def _thumb_failed(self, generation: int, image_id: int, message: str) -> None:
        if generation == self._generation:
            self.errors[image_id] = message


class StateFilter(QSortFilterProxyModel):
    """Filters by state and name; the image being edited (`pinned`) always passes, so an edit that
    changes its state never moves the person off it: it leaves the list once the person moves on."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = "all"
        self.text = ""  # plain text, matched case-insensitively in the path (no regular expression)
        self.pinned: int | None = None

    def pin(self, image_id: int | None) -> None:
        if image_id != self.pinned:
            self._change(self.state, self.text, image_id)

    def set_state(self, state: str) -> None:
        self._change(state, self.text)

    def set_text(self, text: str) -> None:
        self._change(self.state, text.lower())

    def _change(self, state: str, text: str, pinned: int | None | bool = False) -> None:
        pinned = self.pinned if pinned is False else pinned
        if hasattr(self, "beginFilterChange"):  # Qt 6.10+; invalidateFilter() is deprecated there
            self.beginFilterChange()
            self.state, self.text, self.pinned = state, text, pinned
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self.state, self.text, self.pinned = state, text, pinned
            self.invalidateFilter()

    def filterAcceptsRow(self, row: int, parent: QModelIndex) -> bool:  # noqa: N802
        rec = self.sourceModel().records[row]
        if rec.id == self.pinned:
            return True
        if self.state == "uncorrected" and rec.state not in UNCORRECTED:
            return False
        if self.state not in ("all", "uncorrected") and rec.state != self.state:
            return False
        return not self.text or self.text in rec.path.lower()


def badge_rect(row: QRect, metrics, state: str) -> QRect:
    """Where a row's state badge goes: wide enough for its word in the font in use."""
    return QRect(row.left() + THUMB + 12, row.top() + THUMB - 14, max(74, metrics.horizontalAdvance(state) + 16), 16)


class ThumbDelegate(QStyledItemDelegate):
    """Thumbnail, name, and a coloured state badge."""

    def sizeHint(self, option, index) -> QSize:  # noqa: N802
        return QSize(200, THUMB + 8)

    def paint(self, painter: QPainter, option, index) -> None:
        painter.save()
        if option.state & QStyle.StateFlag.State_Selected:
            painter.fillRect(option.rect, option.palette.highlight())
        r = option.rect
        pix = index.data(Qt.ItemDataRole.DecorationRole)
        thumb_rect = QRect(r.left() + 4, r.top() + 4, THUMB, THUMB)
        if isinstance(pix, QPixmap):
            scaled = pix.size().scaled(THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio)
            target = QRect(0, 0, scaled.width(), scaled.height())
            target.moveCenter(thumb_rect.center())
            painter.drawPixmap(target, pix)
        else:
            painter.fillRect(thumb_rect, QColor(70, 70, 70))
        state = index.data(STATE_ROLE) or "new"
        badge = badge_rect(r, painter.fontMetrics(), state)
        selected = option.state & QStyle.StateFlag.State_Selected
        # on a selected row the badge is ringed in the highlight's text colour: "corrected" is nearly
        # the highlight's own blue and would melt into it
        painter.setPen(QPen(option.palette.highlightedText().color(), 2) if selected else Qt.PenStyle.NoPen)
        painter.setBrush(STATE_COLOURS.get(state, QColor("gray")))
        painter.drawRoundedRect(badge, 7, 7)
        painter.setPen(QColor("white"))
        painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, state)
        if index.data(UNSAVED_ROLE):
            mark = QRect(badge.right() + 6, badge.top(), 70, 16)
            painter.setPen(QColor(220, 60, 40))
            painter.drawText(mark, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, "● unsaved")
        painter.setPen(option.palette.highlightedText().color() if selected else option.palette.text().color())
        text_rect = QRect(r.left() + THUMB + 12, r.top() + 6, r.width() - THUMB - 16, 20)
        name = painter.fontMetrics().elidedText(index.data(), Qt.TextElideMode.ElideMiddle, text_rect.width())
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, name)
        painter.restore()


class ImageListPanel(QWidget):
    current_changed = Signal(int)  # image id

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = ImageListModel(self)
        self.proxy = StateFilter(self)
        self.proxy.setSourceModel(self.model)
        self.view = QListView()
        self.view.setModel(self.proxy)
        self.view.setItemDelegate(ThumbDelegate(self.view))
        self.view.setUniformItemSizes(True)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.selectionModel().currentChanged.connect(self._current)
        self.state_box = QComboBox()
        for key, text in FILTERS:
            self.state_box.addItem(text, key)
        self.state_box.currentIndexChanged.connect(lambda _i: self.proxy.set_state(self.state_box.currentData()))
        self.search = QLineEdit()
        self.search.setPlaceholderText("Filter by name")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.proxy.set_text)
        top = QHBoxLayout()
        top.addWidget(self.state_box)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(top)
        layout.addWidget(self.search)
        layout.addWidget(self.view, 1)

    def set_records(self, records: list[ImageRecord], paths: dict[int, Path]) -> None:
        self.model.set_records(records, paths)

    def current_id(self) -> int | None:
        idx = self.view.currentIndex()
        return idx.data(ID_ROLE) if idx.isValid() else None

    def select(self, image_id: int) -> bool:
        row = self.model.row_of.get(image_id)
        if row is None:
            return False
        idx = self.proxy.mapFromSource(self.model.index(row))
        if not idx.isValid():  # filtered out: listed while it is the current one; the filter stays
            self.proxy.pin(image_id)
            idx = self.proxy.mapFromSource(self.model.index(row))
        self.view.setCurrentIndex(idx)
        self.view.scrollTo(idx)
        return True

    def filter_state(self) -> str:
        return self.state_box.currentData()

    def set_filter_state(self, state: str) -> None:
        index = self.state_box.findData(state)
        if index >= 0:
            self.state_box.setCurrentIndex(index)

    def step(self, delta: int) -> bool:
        n = self.proxy.rowCount()
        if n == 0:
            return False
        row = self.view.currentIndex().row()
        new = 0 if row < 0 else row + delta
        if not 0 <= new < n:
            return False
        self.view.setCurrentIndex(self.proxy.index(new, 0))
        return True

    def next_uncorrected(self) -> bool:
        """The next new or predicted image after the current one (wrapping); False if there is none."""
        n = self.proxy.rowCount()
        start = self.view.currentIndex().row()
        for k in range(1, n + 1):
            idx = self.proxy.index((start + k) % n, 0)
            if idx.data(STATE_ROLE) in UNCORRECTED and idx.row() != start:
                self.view.setCurrentIndex(idx)
                return True
        return False

    def _current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            image_id = current.data(ID_ROLE)
            # the image left behind is filtered again once this one is current (not within this signal)
            QTimer.singleShot(0, self, lambda: self.proxy.pin(self.current_id()))
            self.current_changed.emit(image_id)
