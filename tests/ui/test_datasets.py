"""Export and import from the window (offscreen): the dialogs' choices reach the files."""

import numpy as np
from PySide6.QtWidgets import QDialog

from fcn_studio.core.sample_data import SAMPLE_LABELS
from fcn_studio.project.formats import ExportOptions
from fcn_studio.project.project import Project
from fcn_studio.ui.dataset_dialogs import ExportDialog, ImportDialog, export_dataset, import_dataset
from tests.ui.conftest import wait_for_image


def test_export_from_the_window_then_import_into_another_project(qtbot, window, tmp_path, photo_folder):
    project = Project.create(tmp_path / "proj", SAMPLE_LABELS)
    project.add_images([photo_folder])
    for i, rec in enumerate(project.images()):
        mask = np.full((96, 128), 255, np.uint8)
        mask[10:50, 10 + i:60] = 1 + i % 3
        project.save_mask(rec.id, mask, "reviewed")
    project.close()
    window.open_paths([tmp_path / "proj"])
    wait_for_image(qtbot, window, ".png")
    dialog = ExportDialog(tmp_path / "out", window)
    qtbot.addWidget(dialog)
    dialog.format.setCurrentIndex(dialog.format.findData("coco"))
    dialog.polygons.setChecked(True)
    fmt, out, options, extra = dialog.request()
    assert (fmt, options.which, extra["polygons"]) == ("coco", "human", True)
    export_dataset(window, fmt, out, options, extra)
    qtbot.waitUntil(lambda: (tmp_path / "out" / "annotations.json").is_file(), timeout=20_000)

    Project.create(tmp_path / "other").close()
    window.open_paths([tmp_path / "other"])
    qtbot.waitUntil(lambda: window.project is not None and window.project.name == "other", timeout=10_000)
    reports = []
    window.workspace.imported.connect(reports.append)
    import_dataset(window, tmp_path / "out")
    qtbot.waitUntil(lambda: window.image_list.proxy.rowCount() == 4 and bool(reports), timeout=20_000)
    assert reports[0].imported == 4 and not reports[0].problems
    assert window.class_panel.list.count() == 21 + 3  # VOC's classes plus disc, box, triangle


def test_import_dialog_reports_problems(qtbot, window, tmp_path, photo_folder):
    Project.create(tmp_path / "p").close()
    window.open_paths([tmp_path / "p"])
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
    import_dataset(window, bad)
    qtbot.waitUntil(lambda: bool(reports), timeout=10_000)
    assert any("ghost" in p for p in reports[0].problems)
    assert isinstance(dialog, QDialog) and ExportOptions().which == "human"
