"""The main window: composes the image list, the canvas, the class panel and the status bar, and
carries the flow between them (open, switch image, predict, predict all). Slow work goes to the
inference worker or the thread pool; this class only reacts to their signals."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, Qt, QThreadPool, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QFileDialog, QMainWindow, QMessageBox, QWidget

from fcn_studio.core.labels import LabelSet
from fcn_studio.project.project import Project, ProjectError
from fcn_studio.ui.canvas.overlay_state import OverlayState
from fcn_studio.ui.canvas.partial_prediction import PartialPrediction
from fcn_studio.ui.canvas.shown_image import ShownImage, load_shown_image
from fcn_studio.ui.canvas.tool_controller import ToolController
from fcn_studio.ui.canvas.view import CanvasView
from fcn_studio.ui.datasets.session_save import SessionSaver
from fcn_studio.ui.dispatch import GuiDispatcher
from fcn_studio.ui.editing_actions import EditingActions
from fcn_studio.ui.errors import show_error
from fcn_studio.ui.menus import build_menus
from fcn_studio.ui.models import prediction_order
from fcn_studio.ui.models.inference_worker import InferenceWorker
from fcn_studio.ui.models.pretrained_jobs import PretrainedJobs
from fcn_studio.ui.panels.class_panel import ClassPanel
from fcn_studio.ui.panels.dock_layout import DockSizer, fit_screen, vertical_scroll
from fcn_studio.ui.panels.image_list import ImageListPanel
from fcn_studio.ui.panels.status import StatusBar
from fcn_studio.ui.panels.tools_panel import ToolsPanel
from fcn_studio.ui.shortcuts import KeyRouter
from fcn_studio.ui.tasks import Lanes, run_in_background
from fcn_studio.ui.training.keep_learning_controller import KeepLearningController
from fcn_studio.ui.training.training_controller import TrainingController
from fcn_studio.ui.training.training_hint import TrainingHint
from fcn_studio.ui.training.training_panel import TrainingPanel, scrolling
from fcn_studio.workspace import Workspace

log = logging.getLogger(__name__)
MAX_RECENT = 10


class MainWindow(EditingActions, QMainWindow):
    def __init__(self, settings: QSettings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings or QSettings("FCN Studio", "FCN Studio")
        self.workspace = Workspace(int(self.settings.value("undo_limit_mb", 300)), dispatch=GuiDispatcher(self))
        self.current_id: int | None = None
        self.current_rgb: np.ndarray | None = None
        self._load_token = 0
        self.lanes = Lanes(self)
        self.overlay = OverlayState()
        self.overlay_shown = True
        self.closed = False

        self.canvas = CanvasView(self)
        self.setCentralWidget(self.canvas)
        self.image_list = ImageListPanel()
        self.class_panel = ClassPanel()
        self.tools_panel = ToolsPanel()
        images = self._dock("Images", self.image_list, Qt.DockWidgetArea.LeftDockWidgetArea)
        classes = self._dock("Classes", vertical_scroll(self.class_panel), Qt.DockWidgetArea.RightDockWidgetArea)
        tools = self._dock("Tools", vertical_scroll(self.tools_panel), Qt.DockWidgetArea.RightDockWidgetArea)
        self.training_panel = TrainingPanel()
        training = self._dock("Training", scrolling(self.training_panel), Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(tools, training)  # correcting and training take turns in one place
        tools.raise_()
        self.resizeDocks([images, classes], [260, 330], Qt.Orientation.Horizontal)
        if self.settings.value("window_state") is None:  # first run, once shown: the class list gets the rows
            QTimer.singleShot(0, self, lambda: self.resizeDocks([classes, tools], [
                classes.height() + tools.height() - tools.sizeHint().height(), tools.sizeHint().height()],
                Qt.Orientation.Vertical))
        self.status = StatusBar(self)
        self.setStatusBar(self.status)
        self.session = self.workspace.editing
        self.session.on_change = self._mask_changed
        self.tools = ToolController(self.canvas, self.tools_panel, self.session, self)
        self._last_prediction: tuple[int, np.ndarray] | None = None
        self.worker = InferenceWorker(self)
        self.training = TrainingController(self, self.training_panel)
        self.keep_learning = KeepLearningController(self, self.training_panel.keep)
        TrainingHint(self, self.training_panel.hint)
        self.partial_prediction = PartialPrediction(self)
        self._loading: tuple[Path, object] | None = None  # the model asked for, and what to do once ready
        self._quit_wait = QTimer(self)  # polls the autosaver while a quit waits for saves in flight
        self._quit_wait.setInterval(50)
        self._quit_wait.timeout.connect(self._quit_when_saved)
        self.actions: dict[str, QAction] = {}
        self.pretrained = PretrainedJobs(self)  # Model > Get Pretrained Model..., and the new-project offer
        self.session_saver = SessionSaver(self)  # File > Save as Project..., and the question on quitting
        build_menus(self)
        self.keys = KeyRouter(self, self.canvas)  # shortcuts work wherever the focus is, unless typing

        self.image_list.current_changed.connect(self.show_image)
        self.class_panel.visibility_changed.connect(self._visibility_changed)
        self.class_panel.opacity_changed.connect(self._opacity_changed)
        self.class_panel.overlay_toggled.connect(self.set_overlay_shown)
        self.class_panel.mode_changed.connect(self._mode_changed)
        self.class_panel.unlabelled_toggled.connect(self._hatch_toggled)
        self.canvas.hovered.connect(self._hovered)
        self.canvas.zoom_changed.connect(self.status.set_zoom)
        self.worker.model_ready.connect(self._model_ready)
        self.worker.model_failed.connect(self._model_failed)
        self.worker.predicted.connect(self._predicted)
        self.worker.prediction_failed.connect(self._prediction_failed)
        self.worker.batch_progress.connect(self.status.batch.progress)
        self.worker.batch_finished.connect(lambda *args: prediction_order.batch_finished(self, *args))
        self.status.batch.cancel_requested.connect(self.worker.cancel_batch)
        self.session.dirty_changed.connect(self._dirty_changed)
        self.session.save_failed.connect(self._save_failed)
        self.session.state_changed.connect(self._refresh_record)
        self.tools.operation_finished.connect(self.session.operation_finished)
        self.tools.class_picked.connect(self._class_picked)
        self.tools.busy.connect(lambda text: self.status.showMessage(text, 0 if text else 1))
        self.tools.failed.connect(lambda msg: show_error(self, "Smart selection", msg))
        self.tools.notice.connect(lambda text: self.status.showMessage(text, 8000))
        self.workspace.labels_changed.connect(self._labels_changed)
        self.workspace.images_changed.connect(self._refresh_list)
        self.worker.start()

        self.setAcceptDrops(True)
        self.class_panel.set_labels(self.overlay.labels)
        self.tools_panel.set_labels(self.overlay.labels)
        self._class_picked(1)
        self._restore_settings()
        DockSizer(self, {images: 260, classes: 330}, self.settings)  # fits a laptop; the canvas gets space first
        self._update_title()

    @property
    def project(self) -> Project | None:
        return self.workspace.project

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{title}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def background(self, fn, on_done, on_failed=None, pool: QThreadPool | None = None) -> None:
        """Runs `fn` in `pool` (the slow lane unless told); its callbacks are dropped once the window
        has closed."""
        def done(result) -> None:
            if not self.closed:
                on_done(result)

        def failed(message: str, details: str) -> None:
            if not self.closed:
                (on_failed or (lambda m, d: show_error(self, "Something went wrong", m, d)))(message, details)

        run_in_background(fn, done, failed, pool or self.lanes.slow)

    # -- questions (tests replace this) ---------------------------------------------------------------
    def ask(self, title: str, text: str) -> bool:
        answer = QMessageBox.question(self, title, text)
        return answer == QMessageBox.StandardButton.Yes

    # -- opening -------------------------------------------------------------------------------------
    def open_paths(self, paths: list[str | Path]) -> None:
        """Whatever the user hands over (command line, drop, menu): a project, a checkpoint, images or
        folders."""
        paths = [Path(p) for p in paths]
        if not paths:
            return
        checkpoints = [p for p in paths if p.suffix == ".safetensors"]
        for ckpt in checkpoints:
            self.load_model(ckpt)
        paths = [p for p in paths if p not in checkpoints]
        if len(paths) == 1 and (Project.is_project(paths[0]) or paths[0].name == "project.sqlite"):
            self.open_project(paths[0])
            return
        if not paths:
            return
        if self.project is not None and not self.project.temporary:
            self.add_images(paths)
            return
        folder = paths[0] if len(paths) == 1 and paths[0].is_dir() else None
        if folder is not None and self.ask("Make a project?",
                                           f"Make {folder} a project?\n\nFCN Studio will write project.sqlite "
                                           f"and a masks/ folder there, so your corrections are saved. "
                                           f"Otherwise the images open for this session only."):
            self.new_project(folder, paths)
            return
        self._set_project(Project.temporary_session())
        self.add_images(paths)
        self._ensure_model()

    def open_project(self, path: str | Path) -> None:
        try:
            project = Project.open(path)
        except (ProjectError, RuntimeError, OSError) as exc:
            show_error(self, "Cannot open the project", str(exc))
            return
        self._set_project(project)
        self._remember_recent(project.root)
        self._ensure_model()

    def new_project(self, folder: str | Path, add: list[Path] | None = None, labels: LabelSet | None = None) -> None:
        try:
            project = Project.create(folder, labels)
        except (ProjectError, OSError) as exc:
            show_error(self, "Cannot create the project", str(exc))
            return
        self._set_project(project)
        self._remember_recent(project.root)
        if add:
            self.add_images(add)
        self._ensure_model()
        self.pretrained.project_created(project)

    def add_images(self, paths: list[Path]) -> None:
        if self.project is None:
            self._set_project(Project.temporary_session())
        project = self.project

        def done(result) -> None:
            if project is not self.project:
                return
            self._refresh_list()
            skipped = "".join(f"\n{p}: {why}" for p, why in result.skipped[:10])
            self.status.showMessage(f"{result.added} images added, {result.already} already there", 8000)
            if skipped:
                show_error(self, "Some files were not added", f"These could not be added:{skipped}")

        self.background(lambda: project.add_images(paths), done,
                        lambda msg, det: show_error(self, "Cannot add images", msg, det))

    def _set_project(self, project: Project) -> None:
        if self.worker.batch_running:
            self.worker.cancel_batch()
        self.worker.set_project(project)
        self.workspace.open(project)  # saves what is pending for the old project first, then closes it
        self.current_id = None
        self.current_rgb = None
        self._load_token += 1  # an image still decoding for the old project is dropped when it arrives
        self.canvas.show_message("Choose an image on the left.")
        self._refresh_list()
        self._update_title()

    def _refresh_list(self) -> None:
        if self.project is None:
            return
        records = self.project.images()
        paths = {r.id: self.project.image_path(r) for r in records}
        self.image_list.set_records(records, paths)
        if self.current_id is not None:
            self.image_list.select(self.current_id)
        elif records:
            self.image_list.step(1)  # an opened project shows its first image, not an empty canvas

    def _update_title(self) -> None:
        parts = ["FCN Studio"]
        if self.project is not None:
            parts.append("unsaved session" if self.project.temporary else self.project.name)
        if self.current_id is not None and self.project is not None:
            rec = self.image_list.model.record(self.current_id)
            if rec is not None:
                parts.append(rec.name + (" *" if self.session.is_dirty(self.current_id) else ""))
        self.setWindowTitle(" - ".join(parts))

    # -- the model ------------------------------------------------------------------------------------
    def _ensure_model(self) -> None:
        """A project without a model gets the default one (FCN-8s on MobileNetV3, ImageNet-initialised
        when those weights are cached), made in the background."""
        project = self.project
        if project is None:
            return
        if project.model_path is not None and project.model_path.is_file():
            self.load_model(project.model_path)
            return
        target = project.root / "models" / "default.safetensors"

        def make():
            from fcn_studio.model.checkpoint import save_checkpoint  # noqa: PLC0415 (torch off the GUI path)
            from fcn_studio.model.factory import new_model  # noqa: PLC0415

            model, info, note = new_model(labels=project.labels)
            save_checkpoint(target, model, info)
            project.set_model_path(target)  # registered even if the user has moved on meanwhile
            project.record_model_run(target, {}, "default model")
            return note

        def done(note) -> None:
            if project is self.project:
                self.status.showMessage(f"New default model: {note}", 10000)
                self.load_model(target)

        self.status.model.setText("making the default model...")
        def failed(message: str, details: str) -> None:
            if project is self.project:
                show_error(self, "Cannot make a model", message, details)

        self.background(make, done, failed)

    def load_model(self, path: str | Path, then=None) -> None:
        """Loads a checkpoint in the inference worker; `then` runs once it is ready (not if it fails)."""
        path = Path(path)
        self._loading = (path, then)
        if self.project is not None:
            self.project.set_model_path(path)
        self.status.model.setText(f"loading {path.name}...")
        self.worker.load_model(path, self._device())

    def set_device(self, device: str) -> None:
        self.settings.setValue("device", device)
        if self.project is not None and self.project.model_path is not None:
            self.load_model(self.project.model_path)

    def _device(self) -> str | None:
        value = self.settings.value("device", "auto")
        return None if value in (None, "", "auto") else str(value)

    def _model_ready(self, name: str, device: str, labels: LabelSet) -> None:
        if self.closed or (self.project is not None and self.project.closed):
            return  # a model that finished loading after the window (or its project) closed
        self.status.model.setText(name)
        self.status.device.setText(device)
        path, then = self._loading if self._loading and self._loading[0].name == name else (Path(name), None)
        self._loading = None
        self.workspace.model_loaded(path, labels)
        project = self.project
        if project is not None and labels.names != project.labels.names:
            humans = project.counts()["corrected"] + project.counts()["reviewed"]
            if humans == 0 or self.ask("Use the model's classes?",
                                       f"The model knows {len(labels)} classes ({', '.join(labels.names[:6])}...), "
                                       f"the project {len(project.labels)}. Use the model's classes? Pixels of "
                                       f"classes the model does not have become unlabelled."):
                mapping = {i: (labels.names.index(n) if n in labels.names else labels.ignore_index)
                           for i, n in enumerate(project.labels.names)}
                self.change_labels(labels, mapping, then=then or self._predict_shown)  # predict once relabelled
                return
        (then or self._predict_shown)()

    def _model_failed(self, message: str, details: str) -> None:
        self._loading = None  # the model in use, if any, goes on predicting
        show_error(self, "Cannot load the model", message, details)

    def _predict_shown(self) -> None:
        """The image on screen goes to the model just loaded, if no person has touched it. Not while a model
        loads or the classes change: a prediction stored before the project takes the model's classes would be
        remapped as if in the old ones (all unlabelled); `_model_ready` or the change predicts it after."""
        if self._loading is None and not self.changing_classes and self.current_id is not None \
                and self.current_rgb is not None and self.session.untouched(self.current_id):
            self.worker.request(self.current_id, self.current_rgb)

    # -- showing an image -----------------------------------------------------------------------------
    def show_image(self, image_id: int, then=None) -> None:
        """Decodes off the GUI thread; a result for an image the user has already left is dropped.
        `then` runs once it is shown, instead of predicting an image that has no prediction yet."""
        if self.project is None:
            return
        self._load_token += 1
        token = self._load_token
        project = self.project
        if self.current_id is not None and self.current_id != image_id:
            self.worker.cancel_request(self.current_id)
        self.current_id = image_id
        self._update_title()
        record = project.image(image_id)
        path = project.image_path(record)
        session = self.session

        def done(shown: ShownImage) -> None:
            if token != self._load_token:
                return
            self.current_rgb = shown.levels.levels[0]  # the decoded image itself (one copy in memory)
            self.canvas.set_image(shown.levels)
            self.status.set_size(shown.rgb.shape[1], shown.rgb.shape[0])
            editor = self.session.open_image(image_id, shown.start, shown.rgb.shape[:2], shown.human, shown.origin)
            self.overlay.set_image_data(editor.mask, shown.confidence, shown.prediction, shown.mask_levels)
            self._render_overlay()
            self._update_title()
            if then is not None:
                then()
            elif shown.mask is None and self.worker.predictor is not None:
                self._predict_shown()  # the first sight of an image nobody has labelled and no model has seen

        def failed(message: str, details: str) -> None:
            if token != self._load_token:
                return
            self.session.current_id = None  # nothing to edit on an image that cannot be shown
            self.current_rgb = None
            self.overlay.set_image_data(None, None)
            self.canvas.show_message(f"Cannot show this image.\n{message}")
            self.image_list.model.errors[image_id] = message
            self.status.showMessage(message, 10000)
            log.warning("cannot show %s: %s", path, message)

        self.background(lambda: load_shown_image(project, session, image_id, path), done, failed, self.lanes.decode)

    def _render_overlay(self) -> None:
        self.canvas.set_overlay(self.overlay.render() if self.overlay_shown else None)

    def _predicted(self, image_id: int, labels: np.ndarray, confidence: np.ndarray, stored: bool) -> None:
        if self.closed or self.project is None or self.project.closed:
            return
        try:
            self.image_list.model.update_record(self.project.image(image_id))
        except ProjectError:
            return
        if image_id == self.current_id and self.current_rgb is not None:
            self._last_prediction = (image_id, labels)

            def adopt(copy=None) -> None:  # the editor gets its own copy; a large one is made off this thread
                if image_id != self.current_id:
                    return
                editor = self.session.adopt_prediction(image_id, labels, copy) if stored else None
                self.overlay.set_image_data(editor.mask if editor is not None else self.overlay.mask, confidence,
                                            labels)
                self._render_overlay()
            if stored and labels.size > 4_000_000:
                self.background(labels.copy, adopt, pool=self.lanes.decode)
            else:
                adopt()

    def _prediction_failed(self, image_id: int, message: str) -> None:
        self.image_list.model.errors[image_id] = message
        self.status.showMessage(f"Prediction failed: {message}", 10000)
        log.warning("prediction of image %s failed: %s", image_id, message)
        if self.worker.batch_running:
            return
        if image_id == self.current_id and "no model" not in message:
            show_error(self, "Prediction failed", message)

    # -- overlay controls -------------------------------------------------------------------------
    def _visibility_changed(self, visible: list[bool]) -> None:
        self.overlay.visible = visible
        self._render_overlay()

    def _opacity_changed(self, opacity: float) -> None:
        self.canvas.set_overlay_opacity(opacity)
        self.settings.setValue("opacity", opacity)

    def _mode_changed(self, mode: str) -> None:
        self.overlay.mode = mode
        self._render_overlay()

    def _hatch_toggled(self, shown: bool) -> None:
        self.overlay.hatch = shown
        self._render_overlay()

    def set_overlay_shown(self, shown: bool) -> None:
        self.overlay_shown = shown
        if self.class_panel.overlay_box.isChecked() != shown:
            self.class_panel.overlay_box.setChecked(shown)
        self._render_overlay()

    def _hovered(self, x: int, y: int) -> None:
        self.status.hover.setText("" if x < 0 else f"({x}, {y})  {self.overlay.describe(x, y)}")

    # -- settings, drops, closing -----------------------------------------------------------------
    def _remember_recent(self, root: Path) -> None:
        recent = [str(root)] + [p for p in self.recent_projects() if p != str(root)]
        self.settings.setValue("recent_projects", recent[:MAX_RECENT])

    def recent_projects(self) -> list[str]:
        value = self.settings.value("recent_projects", [])
        return [value] if isinstance(value, str) else list(value or [])

    def _restore_settings(self) -> None:
        geometry = self.settings.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            fit_screen(self, 1280, 800)
        state = self.settings.value("window_state")
        if state is not None:
            self.restoreState(state)
        opacity = float(self.settings.value("opacity", 0.5))
        self.class_panel.opacity.setValue(int(round(opacity * 100)))
        self.canvas.set_overlay_opacity(opacity)

    def choose_folder(self, title: str) -> str:
        start = str(self.settings.value("last_folder", str(Path.home())))
        folder = QFileDialog.getExistingDirectory(self, title, start)
        if folder:
            self.settings.setValue("last_folder", folder)
        return folder

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        event.acceptProposedAction()
        self.open_paths(paths)

    def closeEvent(self, event) -> None:  # noqa: N802
        if not self.session_saver.on_close() or not self._safe_to_close():
            event.ignore()
            return
        self._quit_wait.stop()
        self.closed = True
        self.pretrained.cancel_all()  # a download stops at its next chunk; its part stays for a resume
        self.keep_learning.shutdown()  # between two steps; its last checkpoint stays for the next opening
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("window_state", self.saveState())
        self.settings.sync()
        self.worker.stop()
        self.lanes.wait_for_done(10_000)  # let a decode or a model save finish
        self.workspace.close(timeout=2)  # what still cannot be saved stays in the edit journal
        super().closeEvent(event)
