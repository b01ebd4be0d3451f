"""Model > Get Pretrained Model...: the catalogue as a table (what each model is, its size, licence,
reported accuracy with its source, whether it is on this machine), with Download, Cancel, Use and From
File... and a progress bar in the row of each running download. Non-modal: the person keeps working
while a download runs. The work itself is PretrainedJobs'."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from fcn_studio.model.catalogue import Catalogue, Entry, cache_state, size_text

COLUMNS = ("Name", "On this machine", "What", "Size", "Checksum", "Licence", "Accuracy (source)")
STATE_COLUMN = COLUMNS.index("On this machine")

if TYPE_CHECKING:
    from fcn_studio.ui.models.pretrained_jobs import PretrainedJobs


def what_text(entry: Entry) -> str:
    if entry.arch == "encoder":
        return f"ImageNet {entry.backbone} encoder"
    classes = f", {len(entry.classes)} classes" if entry.classes else ""
    return f"{entry.arch} {entry.backbone}{classes}"


def accuracy_text(entry: Entry) -> tuple[str, str]:
    """(the cell: figures and data sets, the tooltip: where each figure comes from)."""
    if not entry.accuracy:
        return entry.raw.get("accuracy_note") or "not published", ""
    cell = "; ".join(f"{a.get('value')} {a.get('metric')}, {a.get('dataset')}" for a in entry.accuracy)
    sources = sorted({str(a.get("source", "")) for a in entry.accuracy if a.get("source")})
    return f"{cell} (source: {'; '.join(sources)})", "\n".join(sources)


def checksum_text(entry: Entry) -> str:
    """Which checksum the file is held to and who publishes it, or why none is."""
    pin = (f"sha256 {entry.sha256[:16]}..." if entry.sha256 else f"sha1 {entry.sha1}" if entry.sha1 else
           f"sha256 starting {entry.sha256_prefix}" if entry.sha256_prefix else "")
    if not pin:
        return entry.raw.get("checksum_note") or "none published: trusted on first use"
    source = entry.raw.get("checksum_source")
    return f"{pin} ({source})" if source else pin


def pin_text(entry: Entry) -> str:
    """The table's word on the checksum: pinned by a publisher, or not (trusted on first use, only once
    the file converts into the model)."""
    return "pinned" if entry.pinned else "unpinned: trusted once it converts"


def state_text(entry: Entry) -> str:
    state = cache_state(entry)
    if state["installed"]:
        return "ready to use"
    if state["downloaded"]:
        return "downloaded"
    if state["partial_bytes"]:
        return f"partly downloaded ({state['partial_bytes'] / 2**20:.1f} MB, resumes)"
    return "not downloaded"


class PretrainedDialog(QDialog):
    def __init__(self, jobs: PretrainedJobs, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Get Pretrained Model")
        self.setModal(False)
        self.resize(1100, 480)
        self.jobs = jobs
        self.entries: list[Entry] = []
        self.bars: dict[str, QProgressBar] = {}
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        for col in (STATE_COLUMN, COLUMNS.index("Licence")):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)  # the accuracy and its source: the full text is the tooltip
        self.details = QLabel()
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.download_button = QPushButton("Download")
        self.cancel_button = QPushButton("Cancel")
        self.use_button = QPushButton("Use")
        self.file_button = QPushButton("From File...")
        close = QPushButton("Close")
        buttons = QHBoxLayout()
        for b in (self.download_button, self.cancel_button, self.use_button, self.file_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.details)
        layout.addWidget(self.message)
        layout.addLayout(buttons)

        self.download_button.clicked.connect(lambda: self._start())
        self.cancel_button.clicked.connect(lambda: self.jobs.cancel(self.current().name) if self.current() else None)
        self.use_button.clicked.connect(self._use)
        self.file_button.clicked.connect(self._from_file)
        close.clicked.connect(self.close)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        jobs.progress.connect(self._progress)
        jobs.finished.connect(lambda name, line: self._said(line))
        jobs.failed.connect(lambda name, line: self._said(line))
        jobs.changed.connect(self.refresh)

    # -- contents --------------------------------------------------------------------------------------
    def set_catalogue(self, catalogue: Catalogue) -> None:
        chosen = self.current()
        self.entries = list(catalogue.entries)
        self.table.setRowCount(len(self.entries))
        for row, entry in enumerate(self.entries):
            accuracy, sources = accuracy_text(entry)
            cells = {"Name": entry.name, "What": what_text(entry), "Size": size_text(entry),
                     "Checksum": pin_text(entry), "Licence": entry.licence or "not stated",
                     "Accuracy (source)": accuracy}
            for key, text in cells.items():
                col = COLUMNS.index(key)
                item = QTableWidgetItem(text)
                tip = {"Accuracy (source)": f"{text}\n{sources}" if sources else text,
                       "Checksum": checksum_text(entry)}.get(key, text)
                item.setToolTip(tip)
                self.table.setItem(row, col, item)
        self.table.setColumnWidth(COLUMNS.index("Licence"), 200)
        self.table.setColumnWidth(STATE_COLUMN, 220)  # room for a progress bar's "2.6 / 8.7 MB (30%)"
        self.refresh()
        self.select(chosen.name if chosen else self.entries[0].name if self.entries else "")

    def refresh(self) -> None:
        """The state column (a progress bar while a download runs) and which buttons apply."""
        for row, entry in enumerate(self.entries):
            if self.jobs.running(entry.name):
                if entry.name not in self.bars:
                    bar = QProgressBar()
                    bar.setRange(0, 0)  # busy until the first byte says how much there is
                    bar.setFormat("downloading")
                    self.bars[entry.name] = bar
                    self.table.setCellWidget(row, STATE_COLUMN, bar)
                continue
            if entry.name in self.bars:
                self.table.removeCellWidget(row, STATE_COLUMN)
                del self.bars[entry.name]
            item = QTableWidgetItem(state_text(entry))
            item.setToolTip(item.text())
            self.table.setItem(row, STATE_COLUMN, item)
        self._selection_changed()

    def current(self) -> Entry | None:
        rows = self.table.selectionModel().selectedRows()
        return self.entries[rows[0].row()] if rows else None

    def select(self, name: str) -> None:
        for row, entry in enumerate(self.entries):
            if entry.name == name:
                self.table.selectRow(row)
                return

    def state(self, name: str) -> str:
        """What the row of `name` shows in its last column (a progress bar's text while downloading)."""
        if name in self.bars:
            return self.bars[name].text()
        row = next(i for i, e in enumerate(self.entries) if e.name == name)
        return self.table.item(row, STATE_COLUMN).text()

    def _selection_changed(self) -> None:
        entry = self.current()
        running = entry is not None and self.jobs.running(entry.name)
        why = self.jobs.usable(entry) if entry is not None else "nothing chosen"
        self.download_button.setEnabled(entry is not None and not running and why is not None)
        self.cancel_button.setEnabled(running)
        self.file_button.setEnabled(entry is not None and not running and why is not None)
        self.use_button.setEnabled(why is None and not running)
        self.use_button.setToolTip("" if why is None else f"Not usable: {why}")
        if entry is None:
            self.details.clear()
            return
        self.details.setText(f"<b>{entry.name}</b>: {entry.description}<br>File {entry.file}; checksum: "
                             f"{checksum_text(entry)}. "
                             f"{'' if why is None or why == 'not downloaded yet' else why.capitalize()}")

    # -- actions ---------------------------------------------------------------------------------------
    def _start(self, from_file: Path | None = None) -> None:
        entry = self.current()
        if entry is None:
            return
        self.message.setText(f"Getting {entry.name}...")
        self.jobs.download(entry, from_file=from_file)
        self.refresh()

    def register_file(self, path: Path) -> None:
        """From File... once a file is chosen: checked against the same checksum as a download."""
        self._start(Path(path))

    def _from_file(self) -> None:
        entry = self.current()
        if entry is None:
            return
        path, _ = QFileDialog.getOpenFileName(self, f"The file {entry.file}, downloaded by hand", str(Path.home()),
                                              f"{entry.file} (*{Path(entry.file).suffix});;All files (*)")
        if path:
            self.register_file(Path(path))

    def _use(self) -> None:
        entry = self.current()
        if entry is not None:
            self.jobs.use(entry)
            self.message.setText(f"Using {entry.name}: see the status bar.")

    def _progress(self, name: str, done: int, total: int) -> None:
        bar = self.bars.get(name)
        if bar is None:
            return
        if total > 0:
            bar.setRange(0, 1000)
            bar.setValue(int(1000 * done / total))
            bar.setFormat(f"{done / 2**20:.1f} / {total / 2**20:.1f} MB (%p%)")
        else:
            bar.setFormat(f"{done / 2**20:.1f} MB")

    def _said(self, line: str) -> None:
        self.message.setText(line)
