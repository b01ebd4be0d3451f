"""The menu bar and its keyboard shortcuts. Each entry calls the room that owns the command; the menus
get those rooms and the widgets they act on (`Rooms`), never the window."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMenuBar

from fcn_studio.ui.errors import log_dir
from fcn_studio.ui.guide import guide_hint, open_guide
from fcn_studio.ui.models.model_commands import DEVICES
from fcn_studio.ui.panels.tools_panel import TOOLS

if TYPE_CHECKING:
    from fcn_studio.core.labels import LabelSet
    from fcn_studio.ui.canvas.editing_commands import EditingCommands
    from fcn_studio.ui.canvas.slide_display import SlideDisplay
    from fcn_studio.ui.canvas.tool_controller import ToolController
    from fcn_studio.ui.canvas.view import CanvasView
    from fcn_studio.ui.datasets.opening import Opening
    from fcn_studio.ui.datasets.session_save import SessionSaver
    from fcn_studio.ui.datasets.transfer import Datasets
    from fcn_studio.ui.models.model_commands import ModelCommands
    from fcn_studio.ui.models.prediction_order import PredictionOrder
    from fcn_studio.ui.models.pretrained_jobs import PretrainedJobs
    from fcn_studio.ui.panels.image_list import ImageListPanel
    from fcn_studio.ui.panels.tools_panel import ToolsPanel
    from fcn_studio.ui.shell import Shell
    from fcn_studio.ui.training.training_controller import TrainingController


@dataclass
class Rooms:
    """What the menus act on."""
    shell: Shell
    opening: Opening
    saver: SessionSaver
    datasets: Datasets
    editing: EditingCommands
    tools: ToolController
    tools_panel: ToolsPanel
    image_list: ImageListPanel
    canvas: CanvasView
    predictions: PredictionOrder
    models: ModelCommands
    pretrained: PretrainedJobs
    training: TrainingController
    slides: SlideDisplay
    toggle_overlay: Callable[[], None]
    show_shortcuts: Callable[[], None]
    quit: Callable[[], None]
    labels: LabelSet


def build_menus(bar: QMenuBar, owner: QObject, docks: list[QDockWidget], r: Rooms) -> dict[str, QAction]:
    """Fills the menu `bar` (its actions belong to `owner`, so their shortcuts work wherever the focus
    is); returns every action by key (the busy state and the tests use them). View > Panels lists
    `docks`, so a closed panel comes back from there."""
    actions = {}

    def act(menu, key: str, text: str, slot, shortcut=None) -> QAction:
        action = QAction(text, owner)
        if shortcut:
            action.setShortcuts([QKeySequence(s) for s in (shortcut if isinstance(shortcut, list) else [shortcut])])
        action.triggered.connect(lambda _checked=False: slot())
        menu.addAction(action)
        actions[key] = action
        return action

    o, e = r.opening, r.editing
    file = bar.addMenu("&File")
    act(file, "new_project", "&New Project...", o.new_project_dialog, QKeySequence.StandardKey.New)
    act(file, "open_project", "&Open Project...", o.open_project_dialog, QKeySequence.StandardKey.Open)
    act(file, "open_images", "Open &Images...", o.open_images_dialog)
    act(file, "add_images", "&Add Images...", o.add_images_dialog)
    act(file, "add_folder", "Add &Folder...", o.add_folder_dialog)
    act(file, "save_as_project", "&Save as Project...", r.saver.save, "Ctrl+Shift+S")
    file.addSeparator()
    act(file, "export", "&Export Dataset...", r.datasets.export_dialog, "Ctrl+E")
    act(file, "import", "&Import Dataset...", r.datasets.import_dialog, "Ctrl+I")
    file.addSeparator()
    recent = file.addMenu("&Recent Projects")
    recent.aboutToShow.connect(lambda: _fill_recent(o, recent))
    file.addSeparator()
    act(file, "quit", "&Quit", r.quit, QKeySequence.StandardKey.Quit)

    edit = bar.addMenu("&Edit")
    act(edit, "undo", "&Undo", e.undo, QKeySequence.StandardKey.Undo)
    act(edit, "redo", "&Redo", e.redo, ["Ctrl+Shift+Z", "Ctrl+Y"])
    edit.addSeparator()
    tools = edit.addMenu("&Tool")
    for key, name, shortcut in TOOLS:
        act(tools, f"tool_{key}", name, lambda k=key: r.tools_panel.set_tool(k), shortcut)
    act(edit, "bigger", "Bigger Brush", lambda: r.tools_panel.grow(1.25), "]")
    act(edit, "smaller", "Smaller Brush", lambda: r.tools_panel.grow(0.8), "[")
    act(edit, "close_polygon", "Close Polygon / Paint Clicked Object", r.tools.close_polygon, ["Return", "Enter"])
    act(edit, "erase_polygon", "Close Polygon as Eraser", lambda: r.tools.close_polygon(erase=True),
        ["Shift+Return", "Shift+Enter"])
    act(edit, "cancel_shape", "Cancel Shape", r.tools.cancel, "Esc")
    act(edit, "remove_last", "Remove Last Click or Corner", r.tools.remove_last, "Backspace")
    classes = edit.addMenu("&Class")
    for n in range(10):
        act(classes, f"class_{n}", f"Class {n}", lambda n=n: e.pick_class(n), str(n))
    name_class_actions(actions, r.labels)
    edit.addSeparator()
    act(edit, "accept", "&Accept Prediction", e.accept_prediction, "Ctrl+Shift+A")
    act(edit, "relabel", "Re&label Class...", e.relabel, "Ctrl+Shift+R")
    act(edit, "clear", "&Clear Mask", e.clear_mask)
    edit.addSeparator()
    act(edit, "mark_corrected", "Mark &Corrected", lambda: e.mark("corrected"), "Ctrl+Shift+C")
    act(edit, "mark_reviewed", "Mark Re&viewed", lambda: e.mark("reviewed"), "Ctrl+R")
    act(edit, "mark_next", "Mark Reviewed and &Next", lambda: e.mark("reviewed", then_next=True),
        ["Ctrl+Return", "Ctrl+Enter"])
    edit.addSeparator()
    act(edit, "undo_limit", "Undo Memory Limit...", e.undo_limit)

    go = bar.addMenu("&Go")
    act(go, "next", "&Next Image", lambda: r.image_list.step(1), ["D", "PgDown"])
    act(go, "previous", "&Previous Image", lambda: r.image_list.step(-1), ["A", "PgUp"])
    act(go, "next_uncorrected", "Next &Uncorrected (new or predicted)", e.next_uncorrected, "U")
    act(go, "next_to_label", "Next to &Label (teaches the model most)", r.predictions.next_to_label, "N")
    act(go, "least_certain_region", "Least Certain &Region of the Slide", r.slides.least_certain_region, "Shift+N")

    view = bar.addMenu("&View")
    act(view, "fit", "&Fit to Window", r.canvas.fit, ["Ctrl+0", "F"])
    act(view, "one_to_one", "&Actual Pixels (1:1)", r.canvas.one_to_one, "Ctrl+1")
    act(view, "zoom_in", "Zoom &In", lambda: r.canvas.zoom_by(1.25), QKeySequence.StandardKey.ZoomIn)
    act(view, "zoom_out", "Zoom &Out", lambda: r.canvas.zoom_by(0.8), QKeySequence.StandardKey.ZoomOut)
    act(view, "toggle_overlay", "Toggle &Overlay", r.toggle_overlay, "O")
    act(view, "edit_labels", "Edit &Classes...", e.edit_labels)
    view.addSeparator()
    panels = view.addMenu("&Panels")  # a closed panel comes back from here
    for dock in docks:
        panels.addAction(dock.toggleViewAction())
        actions[f"panel_{dock.windowTitle().lower()}"] = dock.toggleViewAction()

    m = r.models
    model = bar.addMenu("&Model")
    act(model, "load_model", "&Load Checkpoint...", m.load_dialog)
    act(model, "new_model", "&New Model...", m.new_model_dialog)
    act(model, "pretrained", "&Get Pretrained Model...", r.pretrained.show_dialog)
    act(model, "predict_all", "&Predict All", r.predictions.predict_all, "Ctrl+P")
    act(model, "cancel_batch", "&Cancel Predict All", r.predictions.worker.cancel_batch)
    act(model, "train", "&Train on Corrections", r.training.start, "Ctrl+T")
    act(model, "history", "Model &History...", m.history_dialog)
    act(model, "click_history", "Cl&ick Model History...", m.click_history_dialog)
    _device_menu(owner, model.addMenu("&Device"), m, r.shell, actions)

    helpm = bar.addMenu("&Help")
    act(helpm, "guide", "&User Guide", lambda: open_guide() or r.shell.status(guide_hint(), 15000))
    act(helpm, "shortcuts", "&Keyboard Shortcuts", r.show_shortcuts, ["F1", "?"])
    act(helpm, "sample", "Create &Sample Project...", o.sample_project_dialog)
    act(helpm, "log", "Where Is the &Log?", lambda: r.shell.status(f"Log files: {log_dir()}", 15000))
    return actions


def name_class_actions(actions: dict[str, QAction], labels: LabelSet) -> None:
    """Edit > Class (and so Help > Keyboard Shortcuts) names each number key's class."""
    for n in range(10):
        action = actions[f"class_{n}"]
        action.setText(f"Class {n}: {labels.names[n]}" if n < len(labels) else f"Class {n} (none)")
        action.setEnabled(n < len(labels))


def _device_menu(owner: QObject, menu, models: ModelCommands, shell: Shell, actions: dict) -> None:
    """Auto (CUDA, then MPS, then CPU) or a fixed device; remembered, and the model moves at once."""
    group = QActionGroup(owner)
    current = str(shell.settings.value("device", "auto"))
    for key, text in DEVICES:
        action = QAction(text, owner, checkable=True)
        action.setChecked(key == current)
        action.triggered.connect(lambda _c=False, k=key: models.set_device(k))
        group.addAction(action)
        menu.addAction(action)
        actions[f"device_{key}"] = action


def _fill_recent(opening: Opening, menu) -> None:
    menu.clear()
    for path in opening.recent_projects():
        menu.addAction(path, lambda p=path: opening.open_project(p))
    if menu.isEmpty():
        menu.addAction("(none yet)").setEnabled(False)
