"""Keep learning in the window: the panel's switch starts the Qt-free loop (training.keep_learning) for
the open project and remembers the choice in the project; each better model is loaded in the inference
worker (off the GUI thread, between requests) and the images no person has touched are predicted again:
the one on screen, the next few in the list, then the rest, least certain first. Switching or closing
the project stops the loop (in the background: it waits for the step in progress) and the next opening
resumes it."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QTimer

from fcn_studio.project.project import Project
from fcn_studio.training.keep_learning import KeepLearning, ModelVersion
from fcn_studio.ui.models.prediction_order import predict_all
from fcn_studio.ui.training.keep_learning_box import KeepLearningBox

RETRY_MS = 5000  # how often a switched-on loop waiting for its first corrected image looks again


class KeepLearningController(QObject):
    def __init__(self, window, box: KeepLearningBox) -> None:
        super().__init__(window)
        self.window, self.box = window, box
        self.loop: KeepLearning | None = None
        self._stopping: set[int] = set()  # loops asked to stop, still ending in the background
        self.project: Project | None = None
        self.in_use: ModelVersion | None = None
        self.extra_args: list[str] = []  # more backend arguments (tests: a tiny crop)
        self._waiting = QTimer(self)  # on, but nothing corrected yet
        self._waiting.setInterval(RETRY_MS)
        self._waiting.timeout.connect(self._start_if_ready)
        box.switched.connect(self._switched)
        box.pinned.connect(lambda on: self.loop is not None and self.loop.pin(on))
        box.rollback_requested.connect(self._roll_back)
        window.workspace.project_changed.connect(self._project_changed)

    # -- the project --------------------------------------------------------------------------------
    def _project_changed(self, project: Project) -> None:
        self.shutdown(wait=False)
        self.project, self.in_use = project, None
        usable = not project.temporary
        self.box.setEnabled(usable)
        on = usable and project.keep_learning
        self.box.switch.blockSignals(True)
        self.box.switch.setChecked(on)
        self.box.switch.blockSignals(False)
        history = KeepLearning(project.root).history if usable else []
        self.box.show_history(history)
        model = project.model_path if usable else None  # reopened: the version still in use, if one is
        in_use = [v for v in history if model is not None and Path(v.path).resolve() == model.resolve()]
        self.box.show_in_use(in_use[-1] if in_use else None)
        self.box.state.setText("off")
        if on:
            self._start_if_ready()

    def _switched(self, on: bool) -> None:
        project = self.project
        if project is None or project.temporary:
            return
        project.set_keep_learning(on)
        if on:
            self._start_if_ready()
        else:
            self.shutdown(wait=False)
            self.box.state.setText("off")

    def _start_if_ready(self) -> None:
        w, project = self.window, self.project
        if project is None or project.closed or not self.box.switch.isChecked() or self.loop is not None:
            self._waiting.stop()
            return
        if w.training.running or self._stopping:  # one backend per project: let the other one end first
            self.box.state.setText("waiting for the training run to end")
            self._waiting.start()
            return
        counts = project.counts()
        if counts["corrected"] + counts["reviewed"] == 0:
            self.box.state.setText("waiting for the first corrected image")
            self._waiting.start()
            return
        self._waiting.stop()
        device = str(w.settings.value("device", "auto"))
        loop = KeepLearning(project.root, start_model=project.model_path,
                            train_args=["--device", device, *self.extra_args], dispatch=w.workspace.dispatch)
        loop.pin(self.box.pin.isChecked())
        loop.status_changed.connect(lambda text: self._mine(loop) and self.box.state.setText(text))
        loop.published.connect(lambda v: self._mine(loop) and self.box.add_version(v))
        loop.use.connect(lambda v: self._use(loop, v))
        loop.backend_event.connect(lambda e: self._mine(loop) and self._backend_event(e))
        self.loop = loop
        w.training_panel.start.setEnabled(False)  # one run per project: the loop is it
        loop.start()

    def _mine(self, loop: KeepLearning) -> bool:
        """Whether news from `loop` is for the project on screen (not one switched away from)."""
        return loop is self.loop

    def _backend_event(self, event: dict) -> None:
        if event["event"] in ("progress", "validation"):
            self.window.training_panel.show_event(event)

    # -- swapping models in ---------------------------------------------------------------------------
    def _use(self, loop: KeepLearning, version: ModelVersion) -> None:
        if not self._mine(loop) or self.window.closed:
            return
        self.in_use = version
        self.box.show_in_use(version)
        self.window.status.showMessage(f"Keep learning: swapped in {version.describe()}", 8000)
        self.window.load_model(Path(version.path), then=lambda: predict_all(self.window, screen_first=True))

    def _roll_back(self, number: int) -> None:
        if self.loop is not None:
            self.box.pin.setChecked(True)
            self.loop.rollback(number)
        elif self.project is not None:
            chosen = next((v for v in KeepLearning(self.project.root).history if v.version == number), None)
            if chosen is not None:
                self.in_use = chosen
                self.box.show_in_use(chosen)
                self.window.load_model(Path(chosen.path))

    # -- stopping -------------------------------------------------------------------------------------
    def shutdown(self, wait: bool = True) -> None:
        """Stops the loop: at once on the GUI thread when quitting (`wait`), else in the background."""
        loop, self.loop = self.loop, None
        self._waiting.stop()
        self.window.training_panel.start.setEnabled(True)
        if loop is None:
            return
        if wait:
            loop.stop(timeout=20)
        else:
            self._stopping.add(id(loop))
            self.window.background(loop.stop, lambda _: self._stopping.discard(id(loop)),
                                   lambda *_: self._stopping.discard(id(loop)))
