"""The narrow port between the window and its rooms: what a panel or controller may ask of the shell
(a status line, a question, an error, slow work off the GUI thread, settings, a path chosen by the
person). Rooms are built from (workspace, shell) and never see the window, so a new feature cannot
reach into another room's widgets, and a room can be tested with a plain widget as its parent."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings, QThreadPool
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from fcn_studio.ui.errors import show_error, show_info
from fcn_studio.ui.tasks import Lanes, run_in_background


class Shell:
    """`parent`: the widget dialogs open over; `status`: callable(text, msecs) for the status line."""

    def __init__(self, parent: QWidget, settings: QSettings, lanes: Lanes,
                 status: Callable[[str, int], None]) -> None:
        self.parent, self.settings, self.lanes = parent, settings, lanes
        self._status = status
        self.closed = False  # set when the window closes: late callbacks are dropped
        self.asker: Callable[[str, str], bool] | None = None  # tests answer questions with this

    # -- telling and asking -----------------------------------------------------------------------------
    def status(self, text: str, msecs: int = 5000) -> None:
        if not self.closed:
            self._status(text, msecs)

    def error(self, title: str, message: str, details: str | None = None) -> None:
        show_error(self.parent, title, message, details)

    def info(self, title: str, message: str) -> None:
        show_info(self.parent, title, message)

    def ask(self, title: str, text: str) -> bool:
        if self.asker is not None:
            return self.asker(title, text)
        return QMessageBox.question(self.parent, title, text) == QMessageBox.StandardButton.Yes

    # -- slow work ----------------------------------------------------------------------------------------
    def background(self, fn: Callable[[], object], on_done: Callable[[object], None],
                   on_failed: Callable[[str, str], None] | None = None, pool: QThreadPool | None = None) -> None:
        """Runs `fn` in `pool` (the slow lane unless told); its callbacks are dropped once the window
        has closed."""
        def done(result) -> None:
            if not self.closed:
                on_done(result)

        def failed(message: str, details: str) -> None:
            if not self.closed:
                (on_failed or (lambda m, d: self.error("Something went wrong", m, d)))(message, details)

        run_in_background(fn, done, failed, pool or self.lanes.slow)

    # -- paths --------------------------------------------------------------------------------------------
    def choose_folder(self, title: str) -> str:
        start = str(self.settings.value("last_folder", str(Path.home())))
        folder = QFileDialog.getExistingDirectory(self.parent, title, start)
        if folder:
            self.settings.setValue("last_folder", folder)
        return folder

    def choose_files(self, title: str, filter_: str) -> list[str]:
        files, _ = QFileDialog.getOpenFileNames(self.parent, title, str(self.settings.value("last_folder", "")),
                                                filter_)
        return files

    def choose_file(self, title: str, filter_: str) -> str:
        path, _ = QFileDialog.getOpenFileName(self.parent, title, str(self.settings.value("last_folder", "")),
                                              filter_)
        return path
