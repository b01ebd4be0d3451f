"""Model > Model History: every model the project has used or trained, newest first, with what a person
needs to choose one to roll back to: its full file name, when it was made, how many images it was
trained on and its validation mean IU. The checkpoints' headers are read off the GUI thread."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from fcn_studio.core.splits import measured_on

COLUMNS = ("Model", "Made", "Trained on", "Validation mean IU", "Note")


@dataclass
class HistoryRow:
    checkpoint: Path
    made: str  # "2026-12-05 14:03"
    trained_images: int | None  # None: unknown (the file is gone or unreadable)
    mean_iu: float | None  # on the project's validation images, where it was scored
    note: str
    exists: bool
    scored_on: tuple[int, int, int | None] | None = None  # (whole images, images' held-out regions, pixels)


def history_rows(runs: list[dict]) -> list[HistoryRow]:
    """One row per recorded run (Project.model_runs()); reads each checkpoint's header (slow lane)."""
    rows = []
    for run in runs:
        path = Path(run["checkpoint"])
        prov: dict = {}
        if path.is_file():
            try:
                from fcn_studio.model.checkpoint import read_info  # noqa: PLC0415 (torch off the GUI path)

                prov = read_info(path).provenance
            except (OSError, ValueError):
                prov = {}
        iu, scored = run["metrics"].get("mean_iu"), run["metrics"]
        if iu is None:
            scored = prov.get("metrics") or {}
            iu = scored.get("mean_iu")
        scored_on = ((int(scored.get("val_images") or 0), int(scored.get("val_regions") or 0), scored.get("val_pixels"))
                     if iu is not None and "val_images" in scored else None)
        trained = prov.get("trained_images")
        rows.append(HistoryRow(path, _local_time(str(run["created"])),
                               None if trained is None else int(trained),
                               None if iu is None else float(iu), run.get("note") or "", path.is_file(), scored_on))
    return rows


def _local_time(stamp: str) -> str:
    """The project stores UTC ("2026-12-05T14:03:59Z"); a person reads their own clock."""
    try:
        return datetime.fromisoformat(stamp).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return stamp


class ModelHistoryDialog(QDialog):
    """Choose a row and "Use this model" (or double-click) to roll back to it; `chosen` is its path."""

    def __init__(self, runs: list[dict] | list[HistoryRow], current, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Model history")
        self.chosen: Path | None = None
        # Rows read in the background (menus), or the project's runs as they are (read here)
        self.rows = list(runs) if runs and isinstance(runs[0], HistoryRow) else history_rows(runs)
        self.table = QTableWidget(len(self.rows), len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        for r, row in enumerate(self.rows):
            in_use = current is not None and str(row.checkpoint) == str(current)
            self._fill(r, row, in_use)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.cellDoubleClicked.connect(lambda r, _c: self.choose(r))
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        use = box.addButton("Use this model", QDialogButtonBox.ButtonRole.AcceptRole)
        use.clicked.connect(self._use)
        box.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        explain = QLabel("Newest first. Mean IU is measured on the project's validation images and regions as they "
                         "were when the model was trained (the set grows: compare rows measured on the same "
                         "images only); the model in use is in bold. A model whose file is gone cannot be used.")
        explain.setWordWrap(True)
        layout.addWidget(explain)
        layout.addWidget(self.table, 1)
        layout.addWidget(box)
        self.resize(self._good_size(parent))

    def _fill(self, r: int, row: HistoryRow, in_use: bool) -> None:
        trained = ("not known" if row.trained_images is None else
                   "not trained on this project" if row.trained_images == 0 else f"{row.trained_images} images")
        cells = (row.checkpoint.name + ("  (in use)" if in_use else ""), row.made, trained,
                 "not scored" if row.mean_iu is None else f"{row.mean_iu:.3f}" + (
                     "" if row.scored_on is None else f" on {row.scored_on[0] + row.scored_on[1]} images"),
                 row.note if row.exists else f"{row.note} (file missing)".strip())
        for c, text in enumerate(cells):
            item = QTableWidgetItem(text)
            item.setToolTip(str(row.checkpoint) if c == 0 else
                            f"{text}: measured on {measured_on(*row.scored_on)}" if c == 3 and row.scored_on else text)
            if c in (2, 3):
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if in_use:
                font = QFont(item.font())
                font.setBold(True)
                item.setFont(font)
            if not row.exists:
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled)
            self.table.setItem(r, c, item)

    def _good_size(self, parent: QWidget | None):
        """Wide enough for every column's full text, within the screen (or the window) it opens on."""
        table_width = sum(self.table.horizontalHeader().sectionSize(c) for c in range(len(COLUMNS))) + 60
        height = 140 + self.table.verticalHeader().defaultSectionSize() * max(6, min(len(self.rows), 16))
        hint = self.sizeHint()
        width, height = max(hint.width(), table_width, 720), max(hint.height(), height, 360)
        screen = (parent.screen() if parent is not None else self.screen()).availableGeometry()
        hint.setWidth(min(width, int(screen.width() * 0.9)))
        hint.setHeight(min(height, int(screen.height() * 0.8)))
        return hint

    def choose(self, row: int) -> None:
        self.table.selectRow(row)
        self._use()

    def _use(self) -> None:
        r = self.table.currentRow()
        if 0 <= r < len(self.rows) and self.rows[r].exists:
            self.chosen = self.rows[r].checkpoint
            self.accept()
