"""Export and import from the window (offscreen): the dialogs' choices reach the files."""

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog

from fcn_studio.core.sample_data import SAMPLE_LABELS
from fcn_studio.project.formats import ExportOptions
from fcn_studio.project.project import Project
from fcn_studio.ui.datasets.dataset_dialogs import ExportDialog, ImportDialog
from tests.ui.conftest import wait_for_image


def test_export_from_the_window_then_import_into_another_project(qtbot, window, tmp_path, photo_folder):
    project = Project.create(tmp_path / "proj", SAMPLE_LABELS)
    project.add_images([photo_folder])
    for i, rec in enumerate(project.images()):
        mask = np.full((96, 128), 255, np.uint8)
        mask[10:50, 10 + i:60] = 1 + i % 3
        project.save_mask(rec.id, mask, "reviewed")
    project.close()
    window.opening.open_paths([tmp_path / "proj"])
    wait_for_image(qtbot, window, ".png")
    dialog = ExportDialog(tmp_path / "out", window)
    qtbot.addWidget(dialog)
    dialog.format.setCurrentIndex(dialog.format.findData("coco"))
    dialog.polygons.setChecked(True)
    fmt, out, options, extra = dialog.request()
    assert (fmt, options.which, extra["polygons"]) == ("coco", "human", True)
    window.datasets.export(fmt, out, options, extra)
    qtbot.waitUntil(lambda: (tmp_path / "out" / "annotations.json").is_file(), timeout=20_000)

    Project.create(tmp_path / "other").close()
    window.opening.open_paths([tmp_path / "other"])
    qtbot.waitUntil(lambda: window.project is not None and window.project.name == "other", timeout=10_000)
    reports = []
    window.workspace.imported.connect(reports.append)
    window.datasets.import_(tmp_path / "out")
    qtbot.waitUntil(lambda: window.image_list.proxy.rowCount() == 4 and bool(reports), timeout=20_000)
    assert reports[0].imported == 4 and not reports[0].problems
    assert window.class_panel.list.count() == 21 + 3  # VOC's classes plus disc, box, triangle


def test_import_dialog_reports_problems(qtbot, window, tmp_path, photo_folder):
    Project.create(tmp_path / "p").close()
    window.opening.open_paths([tmp_path / "p"])
    qtbot.waitUntil(lambda: window.project is not None, timeout=10_000)
    bad = tmp_path / "bad"
    (bad / "images").mkdir(parents=True)
    (bad / "labels").mkdir()
    (bad / "labels" / "ghost_labelIds.png").write_bytes(b"")
    dialog = ImportDialog(window)
    qtbot.addWidget(dialog)
    dialog.source.setText(str(bad))
    assert dialog.request() == (bad, "auto", False)
    reports = []
    window.workspace.imported.connect(reports.append)
    window.datasets.import_(bad)
    qtbot.waitUntil(lambda: bool(reports), timeout=10_000)
    assert any("ghost" in p for p in reports[0].problems)
    assert isinstance(dialog, QDialog) and ExportOptions().which == "human"


def test_the_sample_truth_imports_from_the_dialog_as_it_opens_and_undo_survives_elsewhere(
        qtbot, window, tmp_path, photo_folder):
    """The dialog starts on the project's ground_truth/ and recognises it; the import rewrites only the
    image it has a mask for, so a stroke on another image can still be undone."""
    from tests.ui.test_editing import drag

    project = Project.create(tmp_path / "proj", SAMPLE_LABELS)
    project.add_images([photo_folder])
    project.close()
    from fcn_studio.core.mask_io import write_mask

    write_mask(tmp_path / "proj" / "ground_truth" / "img_1.png", np.full((96, 128), 3, np.uint8), SAMPLE_LABELS)
    window.opening.open_paths([tmp_path / "proj"])
    wait_for_image(qtbot, window, "img_0.png")
    window.canvas.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_B)  # the brush: the window starts in Navigate
    window.commands.pick_class(2)
    drag(qtbot, window, [(10, 40), (60, 40)])
    assert window.session.flush(10)
    dialog = ImportDialog(window, window.project)
    qtbot.addWidget(dialog)
    assert dialog.request() == (tmp_path / "proj" / "ground_truth", "auto", False)
    assert "named like this project's images" in dialog.recognised.text()
    reports = []
    window.workspace.imported.connect(reports.append)
    window.datasets.import_(*dialog.request())
    qtbot.waitUntil(lambda: bool(reports), timeout=20_000)
    assert reports[0].imported == 1 and not reports[0].problems and len(reports[0].touched) == 1
    window.commands.undo()
    assert window.status.currentMessage().startswith("Undid")
    assert not (window.session.editor.mask[40, 12:58] == 2).all()


def test_an_unrecognised_folder_speaks_of_the_dialog_not_a_flag(qtbot, window, tmp_path):
    Project.create(tmp_path / "p").close()
    window.opening.open_paths([tmp_path / "p"])
    qtbot.waitUntil(lambda: window.project is not None, timeout=10_000)
    (tmp_path / "empty").mkdir()
    dialog = ImportDialog(window, window.project)
    qtbot.addWidget(dialog)
    dialog.source.setText(str(tmp_path / "empty"))
    assert "Format list" in dialog.recognised.text() and "--format" not in dialog.recognised.text()
    shown = []
    window.shell.error = lambda *args: shown.append(args)
    window.datasets.import_(tmp_path / "empty")
    qtbot.waitUntil(lambda: bool(shown), timeout=10_000)
    assert "Format list" in shown[0][1] and "--format" not in shown[0][1]


def test_images_outside_the_dataset_are_asked_about_first(qtbot, window, tmp_path):
    """A labelme file naming an image outside its folder: the window lists it in a question before
    anything is imported, and the answer decides."""
    import json

    from PIL import Image

    outside = tmp_path / "private" / "secret.png"
    outside.parent.mkdir()
    Image.fromarray(np.full((20, 30, 3), 9, np.uint8)).save(outside)
    src = tmp_path / "lm"
    src.mkdir()
    Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(src / "a.png")
    for name, image in (("a", "a.png"), ("b", "../private/secret.png")):
        doc = {"shapes": [{"label": "cat", "points": [[1, 1], [9, 9]], "shape_type": "rectangle"}],
               "imagePath": image, "imageData": None}
        (src / f"{name}.json").write_text(json.dumps(doc))
    Project.create(tmp_path / "p").close()
    window.opening.open_paths([tmp_path / "p"])
    qtbot.waitUntil(lambda: window.project is not None, timeout=10_000)
    asked, reports = [], []
    window.shell.asker = lambda title, text: asked.append((window.project.images(), text)) or False  # "no"
    window.workspace.imported.connect(reports.append)
    window.datasets.import_(src)
    qtbot.waitUntil(lambda: bool(reports), timeout=10_000)
    before, text = asked[0]
    assert before == [] and str(outside) in text  # asked before anything came in
    assert reports[0].imported == 1 and any("not followed" in p for p in reports[0].problems)
    window.shell.asker = lambda title, text: True  # "yes"
    window.datasets.import_(src)
    qtbot.waitUntil(lambda: len(reports) == 2, timeout=10_000)
    assert reports[1].imported == 1 and sorted(r.name for r in window.project.images()) == ["a.png", "secret.png"]
