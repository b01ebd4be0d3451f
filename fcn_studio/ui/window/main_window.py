"""The main window: composes the rooms (image list, canvas, class, tools and training panels, the
status bar, menus) over the workspace, and carries what passes between the model's worker and the
canvas (an image shown, a model ready, a prediction). Every command lives in the room that owns it;
slow work goes to the inference worker or the thread pool; this class only reacts to their signals."""

from __future__ import annotations

import logging

import numpy as np
from PySide6.QtCore import QRectF, QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import QDockWidget, QMainWindow, QWidget

from fcn_studio.core.labels import LabelSet
from fcn_studio.project.project import Project, ProjectError
from fcn_studio.project.slide_files import current_copy
from fcn_studio.ui.canvas.editing_commands import EditingCommands
from fcn_studio.ui.canvas.overlay_state import OverlayState
from fcn_studio.ui.canvas.partial_prediction import PartialPrediction
from fcn_studio.ui.canvas.shown_image import (
    NeedsTiledCopy,
    ShownImage,
    ShownSlide,
    load_shown_image,
    load_shown_slide,
)
from fcn_studio.ui.canvas.slide_display import SlideDisplay
from fcn_studio.ui.canvas.tool_controller import ToolController
from fcn_studio.ui.canvas.view import CanvasView
from fcn_studio.ui.datasets.opening import Opening
from fcn_studio.ui.datasets.session_recovery import SessionRecovery
from fcn_studio.ui.datasets.session_save import SessionSaver
from fcn_studio.ui.datasets.transfer import Datasets
from fcn_studio.ui.dialogs.shortcut_help import show_shortcuts
from fcn_studio.ui.dispatch import GuiDispatcher
from fcn_studio.ui.errors import show_error
from fcn_studio.ui.models.inference_worker import InferenceWorker
from fcn_studio.ui.models.model_commands import ModelCommands, chosen_device
from fcn_studio.ui.models.prediction_order import PredictionOrder
from fcn_studio.ui.models.pretrained_jobs import PretrainedJobs
from fcn_studio.ui.panels.class_panel import ClassPanel
from fcn_studio.ui.panels.image_list import ImageListPanel
from fcn_studio.ui.panels.place import Place
from fcn_studio.ui.panels.status import StatusBar
from fcn_studio.ui.panels.tools_panel import ToolsPanel
from fcn_studio.ui.panels.wheel_guard import WheelGuard
from fcn_studio.ui.shell import Shell
from fcn_studio.ui.tasks import Lanes
from fcn_studio.ui.training.keep_learning_controller import KeepLearningController
from fcn_studio.ui.training.training_controller import TrainingController
from fcn_studio.ui.training.training_hint import TrainingHint
from fcn_studio.ui.training.training_panel import TrainingPanel, scrolling
from fcn_studio.ui.window.layout import (
    DockSizer,
    RoomForTraining,
    remember_window,
    restore_window,
    vertical_scroll,
)
from fcn_studio.ui.window.menus import Rooms, build_menus, name_class_actions
from fcn_studio.ui.window.quitting import Quitting
from fcn_studio.ui.window.shortcuts import KeyRouter
from fcn_studio.workspace import Workspace

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    shut_down = Signal()  # quitting has ended: every thread stopped, the workspace closed

    def __init__(self, settings: QSettings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings or QSettings("FCN Studio", "FCN Studio")
        self.lanes = Lanes(self)
        self.status = StatusBar(self)
        self.shell = Shell(self, self.settings, self.lanes, self.status.showMessage)
        self.workspace = Workspace(int(self.settings.value("undo_limit_mb", 300)), dispatch=GuiDispatcher(self),
                                   background=lambda fn, done, failed: self.shell.background(fn, done, failed))
        self.workspace.device = chosen_device(self.settings)
        self.overlay = OverlayState()
        self.overlay_shown = True

        self.canvas = CanvasView(self)
        self.slides = SlideDisplay(self.workspace, self.canvas, self.status,  # a whole slide on the canvas
                                   lambda i: self._refresh_record(i),
                                   lambda fn: self.shell.background(fn, lambda _r: None, lambda _m, _d: None))
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
        self.setStatusBar(self.status)
        self.session = self.workspace.editing
        self.session.on_change = self._mask_changed
        self._generation_shown = self.workspace.generation
        self.worker = InferenceWorker(self)
        self.workspace.inference = self.worker

        # the rooms, each built from (workspace, shell) and the widgets it acts on
        self.tools = ToolController(self.workspace, self.shell, self.canvas, self.tools_panel)
        self.commands = EditingCommands(self.workspace, self.shell, self.overlay, self.tools, self.tools_panel,
                                        self.image_list, self.show_image, self.slides)  # Edit and Go
        self.predictions = PredictionOrder(self.workspace, self.shell, self.worker, self.status.batch,
                                           self.image_list)  # Predict All, least certain next
        self.training = TrainingController(self.workspace, self.shell, self.training_panel,
                                           after_swap=self.predictions.predict_all)
        self.keep_learning = KeepLearningController(
            self.workspace, self.shell, self.training_panel,
            after_swap=lambda: self.predictions.predict_all(screen_first=True))
        TrainingHint(self.workspace, self.shell, self.training_panel.hint)
        self.partial_prediction = PartialPrediction(self.workspace, self.worker, self.overlay, self.canvas, self.status,
                                                    lambda: self.overlay_shown, self._render_overlay)
        # Model > Get Pretrained Model..., and the new-project offer
        self.pretrained = PretrainedJobs(self.workspace, self.shell)
        # File > Save as Project..., and the question on quitting
        self.session_saver = SessionSaver(self.workspace, self.shell, self.close)
        self.opening = Opening(self.workspace, self.shell, self.session_saver, self.pretrained)  # File > Open...
        self.datasets = Datasets(self.workspace, self.shell, self.show_image)  # File > Export / Import Dataset
        # a session left by a crash, offered at start (app.run_app calls offer)
        self.session_recovery = SessionRecovery(self.workspace, self.shell, self.opening.recovered)
        self.quitting = Quitting(self.workspace, self.shell, self.session_saver, self.pretrained.pool,
                                 lambda: (self.pretrained.cancel_all(), self.slides.stop_all()),
                                 self.worker, self, self._remember_layout)  # a slide's prediction: at its next tile
        self.quitting.ended.connect(self.slides.close)
        self.quitting.ended.connect(self.shut_down)
        self.actions = build_menus(self.menuBar(), self, [images, classes, tools, training], Rooms(
            self.shell, self.opening, self.session_saver, self.datasets, self.commands, self.tools,
            self.tools_panel, self.image_list, self.canvas, self.predictions, ModelCommands(self.workspace, self.shell),
            self.pretrained, self.training, self.slides, lambda: self.set_overlay_shown(not self.overlay_shown),
            lambda: show_shortcuts(self), self.close, self.overlay.labels))
        self.keys = KeyRouter(self, self.canvas)  # shortcuts work wherever the focus is, unless typing
        WheelGuard(self)  # scrolling a panel never edits its spin boxes, sliders or combo boxes
        # a project reopens at the image, filter and zoom it was left at
        self.place = Place(self.workspace, self.settings, self.image_list, self.canvas)

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
        self.session.dirty_changed.connect(self._dirty_changed)
        self.session.save_failed.connect(self._save_failed)
        self.session.state_changed.connect(self._refresh_record)
        self.tools.operation_finished.connect(self.session.operation_finished)
        self.tools.busy.connect(lambda text: self.status.showMessage(text, 0 if text else 1))
        self.tools.failed.connect(lambda msg: show_error(self, "Smart selection", msg))
        self.tools.notice.connect(lambda text: self.status.showMessage(text, 8000))
        self.workspace.labels_changed.connect(self._labels_changed)
        self.workspace.project_changed.connect(self._project_changed)
        self.workspace.busy_changed.connect(self._busy_changed)
        self.workspace.model_making.connect(lambda note: self.status.model.setText(f"making the {note}..."))
        self.workspace.model_made.connect(lambda _p, note: self.status.showMessage(f"New model: {note}", 10000))
        self.workspace.model_requested.connect(lambda r: self.status.model.setText(f"loading {r.path.name}..."))
        self.workspace.images_changed.connect(self._refresh_list)
        self.workspace.clicks.status.connect(lambda text: self.status.showMessage(f"Click model: {text}", 10000))
        self.worker.start()

        self.setAcceptDrops(True)
        self.class_panel.set_labels(self.overlay.labels)
        self.tools_panel.set_labels(self.overlay.labels)
        self.commands.class_picked(1)
        self._restore_settings()
        # fits a laptop: the canvas gets space first; the Classes list gives up rows while Training is raised
        DockSizer(self, self.canvas, self.resizeDocks, {images: 260, classes: 330}, self.settings)
        RoomForTraining(classes, training, self.resizeDocks, self.tabifiedDockWidgets)
        self._update_title()

    @property
    def project(self) -> Project | None:
        return self.workspace.project

    @property
    def current_id(self) -> int | None:
        """The image the person chose (the workspace holds it)."""
        return self.workspace.current_id

    @property
    def current_rgb(self) -> np.ndarray | None:
        """The shown image's pixels (the workspace holds them with the current image)."""
        return self.workspace.current_image

    @property
    def closed(self) -> bool:
        return self.shell.closed

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{title}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _project_changed(self, _project: Project) -> None:
        """Another project is open (the old one's image goes from the canvas at once), or the session
        goes on as a saved project (Save as: the same image stays)."""
        if self.workspace.generation != self._generation_shown:
            self._generation_shown = self.workspace.generation
            self.slides.close()
            self.canvas.show_message("Choose an image on the left.")
        elif self.slides.shown is not None and self.current_id is not None:
            self.show_image(self.current_id)  # Save as: the slide's labels are edited in the saved project now
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
        elif records and not self.place.restore():
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
    def _model_ready(self, request, device: str, labels: LabelSet) -> None:
        if self.closed or not self.workspace.model_loaded(request, labels):
            return  # a model replaced by a newer request, or loaded for a project closed since
        self.status.model.setText(request.path.name)
        self.status.device.setText(device)
        then = request.then
        project = self.project
        if project is not None and labels.names != project.labels.names:
            humans = project.counts()["corrected"] + project.counts()["reviewed"]
            if humans == 0 or self.shell.ask("Use the model's classes?",
                                       f"The model knows {len(labels)} classes ({', '.join(labels.names[:6])}...), "
                                       f"the project {len(project.labels)}. Use the model's classes? Pixels of "
                                       f"classes the model does not have become unlabelled."):
                mapping = {i: (labels.names.index(n) if n in labels.names else labels.ignore_index)
                           for i, n in enumerate(project.labels.names)}
                self.commands.change_labels(labels, mapping, then=then or self._predict_shown)  # then predict
                return
        (then or self._predict_shown)()

    def _model_failed(self, request, message: str, details: str) -> None:
        if self.closed or not self.workspace.model_load_failed(request, message):
            return
        self.status.model.setText(self.workspace.model_path.name if self.workspace.model_path else "no model")
        show_error(self, "Cannot load the model", message, details)  # the model in use goes on predicting

    def _predict_shown(self) -> None:
        """The image on screen goes to the model just loaded, if no person has touched it. Not while a model
        loads or the classes change: a prediction stored before the project takes the model's classes would be
        remapped as if in the old ones (all unlabelled); `_model_ready` or the change predicts it after."""
        if self.workspace.loading is None and self.workspace.ready and self.current_rgb is not None \
                and self.session.untouched(self.current_id):
            self.worker.request(self.current_id, self.current_rgb)
        elif self.workspace.loading is None and self.workspace.slide is not None and self.workspace.busy is None:
            self.slides.predict(self.worker.predictor, self.project)  # a whole slide: the view first

    # -- showing an image -----------------------------------------------------------------------------
    def show_image(self, image_id: int, then=None) -> None:
        """Decodes off the GUI thread; a result for an image the user has already left is dropped.
        `then` runs once it is shown, instead of predicting an image that has no prediction yet."""
        if self.project is None:
            return
        project = self.project
        if self.current_id is not None and self.current_id != image_id:
            self.worker.cancel_request(self.current_id)
        token = self.workspace.choose_image(image_id)  # edits go nowhere until this image's editor exists
        self._update_title()
        record = project.image(image_id)
        path = project.image_path(record)
        session = self.session

        def load() -> ShownImage | ShownSlide | NeedsTiledCopy:
            from fcn_studio.core.slide import is_slide  # noqa: PLC0415
            from fcn_studio.core.slide.convert import too_large_to_open  # noqa: PLC0415

            slide = path if is_slide(path) else current_copy(project, image_id)
            if slide is not None:
                return load_shown_slide(project, image_id, slide, self.overlay, self.workspace.dispatch)
            if too_large_to_open(path):
                return NeedsTiledCopy(image_id, path.name)
            return load_shown_image(project, session, image_id, path)

        def done(shown: ShownImage | ShownSlide | NeedsTiledCopy) -> None:
            if isinstance(shown, NeedsTiledCopy):
                if self.current_id == image_id:
                    self.slides.make_copy(project, shown, lambda: self.current_id == image_id and self.show_image(
                        image_id))
                return
            if isinstance(shown, ShownSlide):
                if self.slides.show(token, image_id, shown, self.overlay_shown):
                    self.overlay.set_image_data(None, None)
                    self._update_title()
                    if then is not None:
                        then()
                    elif self.worker.predictor is not None:
                        self._predict_shown()  # its tiles the model has not seen yet, around the view
                return
            # the decoded image itself (level 0 of the display levels: one copy in memory)
            editor = self.workspace.image_shown(token, image_id, shown.start, shown.rgb.shape[:2], shown.human,
                                                shown.origin, shown.levels.levels[0])
            if editor is None:
                return  # the person chose another image (or project) meanwhile
            self.slides.close()
            self.canvas.set_image(shown.levels)
            self.status.set_size(shown.rgb.shape[1], shown.rgb.shape[0])
            self.overlay.set_image_data(editor.mask, shown.confidence, shown.prediction, shown.mask_levels)
            self._render_overlay()
            self._update_title()
            if then is not None:
                then()
            elif shown.mask is None and self.worker.predictor is not None:
                self._predict_shown()  # the first sight of an image nobody has labelled and no model has seen

        def failed(message: str, details: str) -> None:
            if not self.workspace.image_failed(token):
                return
            self.overlay.set_image_data(None, None)
            self.slides.close()
            self.canvas.show_message(f"Cannot show this image.\n{message}")
            self.image_list.model.errors[image_id] = message
            self.status.showMessage(message, 10000)
            log.warning("cannot show %s: %s", path, message)

        self.shell.background(load, done, failed, self.lanes.decode)

    EDITING_ACTIONS = ("undo", "redo", "accept", "relabel", "clear", "mark_corrected", "mark_reviewed", "mark_next",
                       "edit_labels", "close_polygon", "erase_polygon", "import", "save_as_project")

    def _busy_changed(self, what: str | None) -> None:
        """A long operation rewrites the masks: the canvas and every editing key wait for it (the
        workspace refuses them too), and the status line says why."""
        self.canvas.setEnabled(what is None)
        for key in self.EDITING_ACTIONS + tuple(f"class_{n}" for n in range(10)):
            action = self.actions.get(key)
            if action is not None:
                action.setEnabled(what is None and (not key.startswith("class_") or int(key[6:]) < len(
                    self.overlay.labels)))
        if what is not None:
            self.status.showMessage(f"Wait: {what}...", 0)

    # -- reactions to edits ----------------------------------------------------------------------------
    def _mask_changed(self, rect) -> None:
        if self.overlay_shown:
            patch = self.overlay.update_rect(rect)
            if patch is not None:
                y0, x0, y1, x1 = patch
                self.canvas.update_overlay(QRectF(x0, y0, x1 - x0, y1 - y0))

    def _dirty_changed(self, image_id: int, dirty: bool) -> None:
        self.image_list.model.set_unsaved(image_id, dirty)
        if image_id == self.current_id:
            self._update_title()

    def _save_failed(self, image_id: int, message: str, first: bool = True) -> None:
        """A dialog for the first failure of an image; its automatic retries only update the status bar."""
        self.status.showMessage(f"Not saved: {message}", 0)
        if first:
            show_error(self, "The mask could not be saved",
                       f"{message}\n\nYour edits are kept and the image stays marked unsaved; saving is tried "
                       f"again by itself, and quitting asks before anything is lost.")

    def _refresh_record(self, image_id: int) -> None:
        if self.project is not None and not self.project.closed:
            try:
                record = self.project.image(image_id)
            except ProjectError:
                return  # saved in the project closed a moment ago (a session discarded for another)
            self.image_list.model.update_record(record)

    def _labels_changed(self, labels: LabelSet) -> None:
        self.overlay.set_labels(labels)
        self.class_panel.set_labels(labels)
        if self.slides.shown is not None and self.workspace.slide is None and self.current_id is not None:
            self.show_image(self.current_id)  # a whole slide's labels rewritten: edited afresh
        self.tools_panel.set_labels(labels)
        name_class_actions(self.actions, labels)
        self.commands.class_picked(min(self.tools.current_class, len(labels) - 1))

    def _render_overlay(self) -> None:
        self.canvas.set_overlay(self.overlay.render() if self.overlay_shown else None)
        self.slides.overlay_changed(self.overlay_shown)

    def _predicted(self, image_id: int, labels: np.ndarray, confidence: np.ndarray, stored: bool) -> None:
        if self.closed or self.project is None or self.project.closed:
            return
        try:
            self.image_list.model.update_record(self.project.image(image_id))
        except ProjectError:
            return
        if image_id != self.current_id and stored:
            self.session.prediction_stored(image_id)  # an editor kept on the old prediction goes
        if image_id == self.current_id and self.current_rgb is not None:
            self.commands.last_prediction = (image_id, labels)

            def adopt(copy=None) -> None:  # the editor gets its own copy; a large one is made off this thread
                if image_id != self.current_id:
                    return
                editor = self.session.adopt_prediction(image_id, labels, copy) if stored else None
                self.overlay.set_image_data(editor.mask if editor is not None else self.overlay.mask, confidence,
                                            labels)
                self._render_overlay()
            if stored and labels.size > 4_000_000:
                self.shell.background(labels.copy, adopt, pool=self.lanes.decode)
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
    def _restore_settings(self) -> None:
        restore_window(self, self.settings)  # maximised again, or sensibly sized on a smaller screen
        state = self.settings.value("window_state")
        if state is not None:
            self.restoreState(state)
        opacity = float(self.settings.value("opacity", 0.5))
        self.class_panel.opacity.setValue(int(round(opacity * 100)))
        self.canvas.set_overlay_opacity(opacity)

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        event.acceptProposedAction()
        self.opening.open_paths(paths)

    def closeEvent(self, event) -> None:  # noqa: N802
        """Closes for good only once quitting has ended (ui.quitting); until then the window hides."""
        if self.quitting.close_requested():
            super().closeEvent(event)
        else:
            event.ignore()

    def _remember_layout(self) -> None:
        remember_window(self, self.settings)
        self.settings.setValue("window_state", self.saveState())
        self.settings.sync()
