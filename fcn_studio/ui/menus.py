"""Menus and keyboard shortcuts of the main window, kept apart so the window stays about flow."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QDockWidget, QFileDialog

from fcn_studio.ui.dialogs.shortcut_help import show_shortcuts
from fcn_studio.ui.errors import log_dir, show_error
from fcn_studio.ui.models.prediction_order import next_to_label, predict_all
from fcn_studio.ui.panels.tools_panel import TOOLS

if TYPE_CHECKING:
    from fcn_studio.ui.main_window import MainWindow

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.webp *.gif *.ppm *.pgm)"


def build_menus(w: MainWindow) -> None:
    bar = w.menuBar()

    def act(menu, key: str, text: str, slot, shortcut=None) -> QAction:
        action = QAction(text, w)
        if shortcut:
            action.setShortcuts([QKeySequence(s) for s in (shortcut if isinstance(shortcut, list) else [shortcut])])
        action.triggered.connect(lambda _checked=False: slot())
        menu.addAction(action)
        w.actions[key] = action
        return action

    file = bar.addMenu("&File")
    act(file, "new_project", "&New Project...", lambda: _new_project(w), QKeySequence.StandardKey.New)
    act(file, "open_project", "&Open Project...", lambda: _open_project(w), QKeySequence.StandardKey.Open)
    act(file, "open_images", "Open &Images...", lambda: _open_images(w))
    act(file, "add_images", "&Add Images...", lambda: _add_images(w))
    act(file, "add_folder", "Add &Folder...", lambda: _add_folder(w))
    act(file, "save_as_project", "&Save as Project...", w.session_saver.save, "Ctrl+Shift+S")
    file.addSeparator()
    act(file, "export", "&Export Dataset...", lambda: _export(w), "Ctrl+E")
    act(file, "import", "&Import Dataset...", lambda: _import(w), "Ctrl+I")
    file.addSeparator()
    recent = file.addMenu("&Recent Projects")
    recent.aboutToShow.connect(lambda: _fill_recent(w, recent))
    file.addSeparator()
    act(file, "quit", "&Quit", w.close, QKeySequence.StandardKey.Quit)

    edit = bar.addMenu("&Edit")
    act(edit, "undo", "&Undo", w.undo, QKeySequence.StandardKey.Undo)
    act(edit, "redo", "&Redo", w.redo, ["Ctrl+Shift+Z", "Ctrl+Y"])
    edit.addSeparator()
    tools = edit.addMenu("&Tool")
    for key, name, shortcut in TOOLS:
        act(tools, f"tool_{key}", name, lambda k=key: w.tools_panel.set_tool(k), shortcut)
    act(edit, "bigger", "Bigger Brush", lambda: w.tools_panel.grow(1.25), "]")
    act(edit, "smaller", "Smaller Brush", lambda: w.tools_panel.grow(0.8), "[")
    act(edit, "close_polygon", "Close Polygon", w.tools.close_polygon, ["Return", "Enter"])
    act(edit, "erase_polygon", "Close Polygon as Eraser", lambda: w.tools.close_polygon(erase=True),
        ["Shift+Return", "Shift+Enter"])
    act(edit, "cancel_shape", "Cancel Shape", w.tools.cancel, "Esc")
    classes = edit.addMenu("&Class")
    for n in range(10):
        act(classes, f"class_{n}", f"Class {n}", lambda n=n: w.pick_class(n), str(n))
    name_class_actions(w, w.overlay.labels)
    edit.addSeparator()
    act(edit, "accept", "&Accept Prediction", w.accept_prediction, "Ctrl+Shift+A")
    act(edit, "relabel", "Re&label Class...", w.relabel, "Ctrl+Shift+R")
    act(edit, "clear", "&Clear Mask", w.clear_mask)
    edit.addSeparator()
    act(edit, "mark_corrected", "Mark &Corrected", lambda: w.mark("corrected"), "Ctrl+Shift+C")
    act(edit, "mark_reviewed", "Mark Re&viewed", lambda: w.mark("reviewed"), "Ctrl+R")
    act(edit, "mark_next", "Mark Reviewed and &Next", lambda: w.mark("reviewed", then_next=True),
        ["Ctrl+Return", "Ctrl+Enter"])
    edit.addSeparator()
    act(edit, "undo_limit", "Undo Memory Limit...", lambda: _undo_limit(w))

    go = bar.addMenu("&Go")
    act(go, "next", "&Next Image", lambda: w.image_list.step(1), ["D", "PgDown"])
    act(go, "previous", "&Previous Image", lambda: w.image_list.step(-1), ["A", "PgUp"])
    act(go, "next_uncorrected", "Next &Uncorrected (new or predicted)", w.next_uncorrected, "U")
    act(go, "next_to_label", "Least Certain U&ncorrected", lambda: next_to_label(w), "N")

    view = bar.addMenu("&View")
    act(view, "fit", "&Fit to Window", w.canvas.fit, ["Ctrl+0", "F"])
    act(view, "one_to_one", "&Actual Pixels (1:1)", w.canvas.one_to_one, "Ctrl+1")
    act(view, "zoom_in", "Zoom &In", lambda: w.canvas.zoom_by(1.25), QKeySequence.StandardKey.ZoomIn)
    act(view, "zoom_out", "Zoom &Out", lambda: w.canvas.zoom_by(0.8), QKeySequence.StandardKey.ZoomOut)
    act(view, "toggle_overlay", "Toggle &Overlay", lambda: w.set_overlay_shown(not w.overlay_shown), "O")
    act(view, "edit_labels", "Edit &Classes...", w.edit_labels)
    view.addSeparator()
    panels = view.addMenu("&Panels")  # a closed panel comes back from here
    for dock in w.findChildren(QDockWidget):
        panels.addAction(dock.toggleViewAction())
        w.actions[f"panel_{dock.windowTitle().lower()}"] = dock.toggleViewAction()

    model = bar.addMenu("&Model")
    act(model, "load_model", "&Load Checkpoint...", lambda: _load_model(w))
    act(model, "new_model", "&New Model...", lambda: _new_model(w))
    act(model, "pretrained", "&Get Pretrained Model...", w.pretrained.show_dialog)
    act(model, "predict_all", "&Predict All", lambda: predict_all(w), "Ctrl+P")
    act(model, "cancel_batch", "&Cancel Predict All", w.worker.cancel_batch)
    act(model, "train", "&Train on Corrections", w.training.start, "Ctrl+T")
    act(model, "history", "Model &History...", lambda: _model_history(w))
    _device_menu(w, model.addMenu("&Device"))

    helpm = bar.addMenu("&Help")
    act(helpm, "shortcuts", "&Keyboard Shortcuts", lambda: show_shortcuts(w), ["F1", "?"])
    act(helpm, "sample", "Create &Sample Project...", lambda: _sample_project(w))
    act(helpm, "log", "Where Is the &Log?", lambda: w.status.showMessage(f"Log files: {log_dir()}", 15000))


def name_class_actions(w: MainWindow, labels) -> None:
    """Edit > Class (and so Help > Keyboard Shortcuts) names each number key's class."""
    for n in range(10):
        action = w.actions[f"class_{n}"]
        action.setText(f"Class {n}: {labels.names[n]}" if n < len(labels) else f"Class {n} (none)")
        action.setEnabled(n < len(labels))


def _device_menu(w: MainWindow, menu) -> None:
    """Auto (CUDA, then MPS, then CPU) or a fixed device; remembered, and the model moves at once."""
    group = QActionGroup(w)
    current = str(w.settings.value("device", "auto"))
    for key, text in (("auto", "Automatic (GPU if there is one)"), ("cpu", "CPU"), ("cuda", "NVIDIA GPU (CUDA)"),
                      ("mps", "Apple GPU (MPS)")):
        action = QAction(text, w, checkable=True)
        action.setChecked(key == current)
        action.triggered.connect(lambda _c=False, k=key: w.set_device(k))
        group.addAction(action)
        menu.addAction(action)
        w.actions[f"device_{key}"] = action


def _undo_limit(w: MainWindow, megabytes: int | None = None) -> None:
    """How much memory undo history may hold, all images together (remembered between runs)."""
    if megabytes is None:
        from PySide6.QtWidgets import QInputDialog  # noqa: PLC0415

        current = int(w.settings.value("undo_limit_mb", 300))
        megabytes, ok = QInputDialog.getInt(w, "Undo memory limit", "Megabytes for undo history:", current, 16,
                                            65536, 16)
        if not ok:
            return
    w.settings.setValue("undo_limit_mb", megabytes)
    w.session.set_undo_limit(megabytes)


def _export(w: MainWindow) -> None:
    w.datasets.export_dialog()


def _import(w: MainWindow) -> None:
    w.datasets.import_dialog()


def _model_history(w: MainWindow) -> None:
    from fcn_studio.ui.models.model_history import ModelHistoryDialog, history_rows  # noqa: PLC0415

    project = w.project
    if project is None:
        return
    runs = project.model_runs()

    def show(rows) -> None:
        if project is not w.project:
            return
        dialog = ModelHistoryDialog(rows, project.model_path, w)
        if dialog.exec() == ModelHistoryDialog.DialogCode.Accepted and dialog.chosen is not None:
            w.load_model(dialog.chosen)

    w.background(lambda: history_rows(runs), show)  # the checkpoints' headers, off the GUI thread


def _new_project(w: MainWindow) -> None:
    folder = w.choose_folder("Folder for the new project")
    if folder:
        w.new_project(folder)


def _open_project(w: MainWindow) -> None:
    folder = w.choose_folder("Open a project folder")
    if folder:
        w.open_project(folder)


def _open_images(w: MainWindow) -> None:
    files, _ = QFileDialog.getOpenFileNames(w, "Open images", str(w.settings.value("last_folder", "")), IMAGE_FILTER)
    if files:
        w.open_paths(files)


def _add_images(w: MainWindow) -> None:
    files, _ = QFileDialog.getOpenFileNames(w, "Add images", str(w.settings.value("last_folder", "")), IMAGE_FILTER)
    if files:
        w.add_images([Path(f) for f in files])


def _add_folder(w: MainWindow) -> None:
    folder = w.choose_folder("Add a folder of images (recursively)")
    if folder:
        w.add_images([Path(folder)])


def _fill_recent(w: MainWindow, menu) -> None:
    menu.clear()
    for path in w.recent_projects():
        menu.addAction(path, lambda p=path: w.open_project(p))
    if menu.isEmpty():
        menu.addAction("(none yet)").setEnabled(False)


def _load_model(w: MainWindow) -> None:
    path, _ = QFileDialog.getOpenFileName(w, "Load a checkpoint", str(w.settings.value("last_folder", "")),
                                          "FCN Studio checkpoints (*.safetensors)")
    if path:
        w.load_model(path)


def _new_model(w: MainWindow) -> None:
    from fcn_studio.ui.dialogs.forms import NewModelDialog  # noqa: PLC0415

    if w.project is None:
        show_error(w, "New model", "Open or create a project first: the model takes its classes from it.")
        return
    dialog = NewModelDialog(w)
    if dialog.exec() != NewModelDialog.DialogCode.Accepted:
        return
    arch, backbone = dialog.arch.currentText(), dialog.chosen_backbone()
    w.workspace.make_model(arch, backbone, note=f"new {arch}" + (f" on {backbone}" if backbone else ""),
                           on_failed=lambda m, d: show_error(w, "Cannot make the model", m, d))


def _sample_project(w: MainWindow) -> None:
    folder = w.choose_folder("Where to put the sample project")
    if folder:
        create_sample_project(w, Path(folder) / "fcn-studio-sample")


def create_sample_project(w: MainWindow, root: Path) -> None:
    """The sample project (project.sample), made off the GUI thread, then opened."""
    from fcn_studio.project.sample import create_sample_project as create  # noqa: PLC0415

    w.background(lambda: create(root), lambda r: w.open_project(r),
                 lambda msg, det: show_error(w, "Cannot create the sample project", msg, det))
