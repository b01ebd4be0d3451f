"""Pretrained-model downloads for the window: the same steps as `fcn-studio model get` (model/get.py),
run in a thread pool of their own so a long download never holds the window's other lanes, with
progress and Cancel by signal. Built from (workspace, shell).

A download asked for a project (the new-project offer) is used only if that project is still the open
one when it finishes; otherwise it is just cached, and the status bar says so. Offline is a normal
state: the downloader's timeouts end every attempt, and one status-bar line says what could not be
fetched and that the current model stays."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QThreadPool, Signal

from fcn_studio.model.catalogue import Catalogue, CatalogueError, Entry, installed_path, load_catalogue
from fcn_studio.model.download import Cancelled, DownloadError
from fcn_studio.model.install import CONVERTERS
from fcn_studio.model_choices import DEFAULT_ARCH
from fcn_studio.ui.tasks import run_in_background

if TYPE_CHECKING:
    from fcn_studio.project.project import Project
    from fcn_studio.ui.shell import Shell
    from fcn_studio.workspace import Workspace

log = logging.getLogger(__name__)
STATUS_MS = 20_000


class PretrainedJobs(QObject):
    progress = Signal(str, int, int)  # entry name, bytes so far, expected total (-1: not known)
    finished = Signal(str, str)  # entry name, what was made (one line)
    failed = Signal(str, str)  # entry name, one-line message (a cancel included)
    changed = Signal()  # something in the cache may differ: the dialog refreshes

    def __init__(self, workspace: Workspace, shell: Shell) -> None:
        super().__init__(shell.parent)
        self.workspace, self.shell = workspace, shell
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(2)
        self._stops: dict[str, threading.Event] = {}
        self.dialog = None  # the Get Pretrained Model dialog, made on first use
        self.offer = None  # the last new-project offer, kept for its tests
        stops = self._stops  # a window destroyed without closing: its downloads stop too
        shell.parent.destroyed.connect(lambda *_: [stop.set() for stop in list(stops.values())])

    # -- the catalogue ---------------------------------------------------------------------------------
    def catalogue(self) -> Catalogue | None:
        """The catalogue, or None with one status-bar line naming the file that is wrong."""
        try:
            return load_catalogue()
        except CatalogueError as exc:
            self.say(str(exc))
            return None

    def running(self, name: str) -> bool:
        return name in self._stops

    @staticmethod
    def usable(entry: Entry) -> str | None:
        """Why `entry` cannot be used in the window yet, or None when Use works."""
        if entry.format not in CONVERTERS:
            return (f"this build has no converter for {entry.format} files: a download is kept as it is, "
                    f"not usable as a model here yet")
        path = installed_path(entry)
        if path is None or not path.is_file():
            return "not downloaded yet"
        return None

    # -- downloading -----------------------------------------------------------------------------------
    def download(self, entry: Entry, from_file: Path | None = None, use_for: Project | None = None) -> None:
        """Fetches (or registers `from_file`), verifies and converts `entry` in the background; when
        `use_for` is given and is still the open project at the end, the model is used at once."""
        if self.running(entry.name):
            return
        if use_for is not None and from_file is None and self.usable(entry) is None:
            self.use(entry)  # already here: nothing to fetch
            return
        from fcn_studio.model.get import get_model  # noqa: PLC0415

        stop = threading.Event()
        self._stops[entry.name] = stop
        last = [-1]

        def progress(done: int, total: int | None) -> None:
            step = max((total or 0) // 200, 1 << 16)  # about 200 updates a download, not one a chunk
            if done - last[0] >= step or done == total:
                last[0] = done
                self.progress.emit(entry.name, done, -1 if total is None else total)

        def work():
            try:
                return get_model(entry, progress=progress, cancelled=stop.is_set, from_file=from_file)
            except Cancelled:
                raise
            except (DownloadError, ValueError) as exc:
                raise RuntimeError(self.failure_line(entry, exc, from_file is not None)) from exc

        def done(got) -> None:
            self._stops.pop(entry.name, None)
            if self.shell.closed:
                return
            summary = got.made or got.lines[-1]
            if got.fetched.resumed_from:
                summary += f" (resumed after {got.fetched.resumed_from / 2**20:.1f} MB)"
            self.finished.emit(entry.name, summary)
            self.changed.emit()
            if use_for is None:
                self.say(f"{entry.name} is ready: {summary}")
            elif use_for is self.workspace.project and not use_for.closed:
                self.use(entry)
            else:
                self.say(f"{entry.name} downloaded into the model cache; {use_for.name} is no longer open, "
                         f"so its model is unchanged (Model > Get Pretrained Model... > Use)")

        def failed(message: str, details: str) -> None:
            self._stops.pop(entry.name, None)
            if self.shell.closed:
                return
            log.info("pretrained %s: %s\n%s", entry.name, message, details)
            self.failed.emit(entry.name, message)
            self.changed.emit()
            self.say(message)

        run_in_background(work, done, failed, self.pool)
        self.changed.emit()

    @staticmethod
    def failure_line(entry: Entry, exc: Exception, by_hand: bool) -> str:
        """The one status-bar line for a download that did not end in a usable model: what could not be
        had, why, and that the current model stays."""
        if isinstance(exc, DownloadError) and not by_hand:
            why = "; ".join(exc.reasons) or str(exc)
            return (f"{entry.file} could not be fetched, so the current model stays ({why}). Try again later, set "
                    f"FCN_STUDIO_MODEL_MIRROR, or use From File... in Model > Get Pretrained Model.")
        return f"The current model stays: {exc}"

    def cancel(self, name: str) -> None:
        stop = self._stops.get(name)
        if stop is not None:
            stop.set()

    def cancel_all(self, *_args) -> None:
        for stop in list(self._stops.values()):
            stop.set()

    def wait(self, msecs: int) -> bool:
        return self.pool.waitForDone(msecs)

    # -- using -----------------------------------------------------------------------------------------
    def use(self, entry: Entry) -> None:
        """A converted model is loaded as a checkpoint would be; an ImageNet encoder becomes a new model
        with the open project's classes."""
        why = self.usable(entry)
        if why is not None:
            self.say(f"{entry.name}: cannot be used yet, {why}")
            return
        if entry.format == "state-dict":
            self.workspace.make_model(DEFAULT_ARCH, entry.backbone, note=f"ImageNet {entry.backbone} encoder",
                                      on_failed=lambda m, d: self.shell.error("Cannot make the model", m, d))
            self.say(f"Making a new {DEFAULT_ARCH} model on the ImageNet {entry.backbone} encoder with this "
                     f"project's classes...")
        else:
            self.workspace.request_model(installed_path(entry))

    # -- dialogs ---------------------------------------------------------------------------------------
    def show_dialog(self) -> None:
        from fcn_studio.ui.models.pretrained_dialog import PretrainedDialog  # noqa: PLC0415

        catalogue = self.catalogue()
        if catalogue is None:
            return
        if self.dialog is None:
            self.dialog = PretrainedDialog(self, self.shell.parent)
        self.dialog.set_catalogue(catalogue)
        self.dialog.show()
        self.dialog.raise_()

    def project_created(self, project: Project) -> None:
        """A new project may be offered a pretrained model (never blocking; see pretrained_offer)."""
        from fcn_studio.ui.models.pretrained_offer import offer_for  # noqa: PLC0415

        self.offer = None
        offer_for(self, project)

    def say(self, line: str) -> None:
        log.info("%s", line)
        self.shell.status(line, STATUS_MS)
