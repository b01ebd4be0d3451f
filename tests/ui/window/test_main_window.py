"""The main window driven as a person would: open, switch, toggle, predict; offscreen, real widgets."""

import threading

import numpy as np
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from fcn_studio.core.mask_io import write_mask
from fcn_studio.core.sample_data import SAMPLE_LABELS
from fcn_studio.project.project import Project
from tests.ui.conftest import close_window, overlay_pixels, wait_for_image


def _rows(w):
    return w.image_list.proxy.rowCount()


def test_window_title_and_empty_state(window):
    assert window.windowTitle() == "FCN Studio"
    assert "Open images" in window.canvas.message


def test_a_loose_folder_opens_as_a_session_without_writing_beside_the_images(qtbot, window, photo_folder):
    before = sorted(p.name for p in photo_folder.rglob("*"))
    window.answers = [False]  # "Make a project?" -> no
    window.opening.open_paths([photo_folder])
    qtbot.waitUntil(lambda: _rows(window) == 4, timeout=10_000)
    wait_for_image(qtbot, window, "img_0.png")
    assert window.project.temporary
    assert sorted(p.name for p in photo_folder.rglob("*")) == before


def test_a_folder_can_become_a_project(qtbot, window, photo_folder):
    window.answers = [True]
    window.opening.open_paths([photo_folder])
    qtbot.waitUntil(lambda: _rows(window) == 4, timeout=10_000)
    assert Project.is_project(photo_folder) and (photo_folder / "masks").is_dir()
    assert "photos" in window.windowTitle()
    assert window.opening.recent_projects()[0] == str(photo_folder.resolve())


def test_switching_images_with_the_keyboard(qtbot, window, photo_folder):
    window.opening.open_paths([photo_folder])
    wait_for_image(qtbot, window, "img_0.png")
    window.canvas.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_D)
    wait_for_image(qtbot, window, "img_1.png")
    qtbot.keyClick(window, Qt.Key.Key_A)
    wait_for_image(qtbot, window, "img_0.png")
    assert window.status.size.text() == "128 x 96"


def _project_with_mask(tmp_path, photo_folder, model=None):
    project = Project.create(tmp_path / "proj", SAMPLE_LABELS)
    project.add_images([photo_folder])
    rec = project.images()[0]
    mask = np.zeros((96, 128), np.uint8)
    mask[:, 64:] = 1  # right half "disc"
    mask[:10, :10] = 255
    project.save_mask(rec.id, mask)
    if model is not None:
        project.set_model_path(model)
    project.close()
    return tmp_path / "proj"


def test_class_toggles_show_only_and_opacity(qtbot, window, tmp_path, photo_folder):
    window.opening.open_paths([_project_with_mask(tmp_path, photo_folder)])
    wait_for_image(qtbot, window, "img_0.png")
    qtbot.waitUntil(lambda: overlay_pixels(window) is not None, timeout=10_000)
    px = overlay_pixels(window)
    disc = (0xFF << 24) | (230 << 16) | (25 << 8) | 75
    assert px[50, 100] == disc
    assert px[50, 10] == 0  # background starts hidden
    assert px[5, 5] == 0  # ignore is never coloured
    panel = window.class_panel
    panel.list.item(1).setCheckState(Qt.CheckState.Unchecked)  # hide "disc"
    assert overlay_pixels(window)[50, 100] == 0
    panel.show_only(0)  # only background
    assert overlay_pixels(window)[50, 10] != 0 and overlay_pixels(window)[50, 100] == 0
    panel.opacity.setValue(80)
    assert abs(window.canvas.overlay_item.opacity() - 0.8) < 1e-6
    panel.overlay_box.setChecked(False)
    assert window.canvas.overlay_item.buffer is None
    qtbot.keyClick(window, Qt.Key.Key_O)  # the overlay shortcut turns it back on
    assert window.canvas.overlay_item.buffer is not None and panel.overlay_box.isChecked()


def test_outline_mode_colours_only_boundaries(qtbot, window, tmp_path, photo_folder):
    window.opening.open_paths([_project_with_mask(tmp_path, photo_folder)])
    qtbot.waitUntil(lambda: overlay_pixels(window) is not None, timeout=10_000)
    window.class_panel.mode.setCurrentIndex(1)
    px = overlay_pixels(window)
    assert px[50, 100] == 0 and px[50, 64] != 0


def test_hover_shows_class_and_position(qtbot, window, tmp_path, photo_folder):
    window.opening.open_paths([_project_with_mask(tmp_path, photo_folder)])
    qtbot.waitUntil(lambda: overlay_pixels(window) is not None, timeout=10_000)
    window.canvas.hovered.emit(100, 50)
    assert "(100, 50)" in window.status.hover.text() and "disc" in window.status.hover.text()


def test_opening_an_image_predicts_it_in_the_background(qtbot, window, tmp_path, photo_folder, tiny_checkpoint):
    project_dir = _project_with_mask(tmp_path, photo_folder, model=tiny_checkpoint)
    window.opening.open_paths([project_dir])
    qtbot.waitUntil(lambda: window.status.model.text() == "tiny.safetensors", timeout=20_000)
    assert "CPU" in window.status.device.text()
    with qtbot.waitSignal(window.worker.predicted, timeout=20_000) as blocker:
        window.image_list.step(1)  # img_1 has no mask yet
    image_id, labels, confidence, stored = blocker.args
    assert stored and labels.shape == (96, 128) and confidence.shape == (96, 128)
    project = Project.open(project_dir)
    assert project.image(image_id).state == "predicted" and project.prediction_path(image_id).is_file()
    assert project.load_mask(image_id) is None  # a prediction is kept apart from a person's mask
    qtbot.waitUntil(lambda: overlay_pixels(window) is not None, timeout=5_000)
    window.class_panel.mode.setCurrentIndex(2)  # confidence view
    assert overlay_pixels(window).shape == (96, 128)


def test_predict_all_never_touches_a_corrected_mask(qtbot, window, tmp_path, photo_folder, tiny_checkpoint):
    project_dir = _project_with_mask(tmp_path, photo_folder, model=tiny_checkpoint)
    window.opening.open_paths([project_dir])
    qtbot.waitUntil(lambda: window.worker.predictor is not None, timeout=20_000)
    first = Project.open(project_dir).images()[0]
    before = Project.open(project_dir).mask_path(first.id).read_bytes()
    with qtbot.waitSignal(window.worker.batch_finished, timeout=60_000) as blocker:
        window.actions["predict_all"].trigger()
        assert window.status.batch.isVisible()
    done, total, cancelled, failures = blocker.args
    assert (done, total, cancelled, failures) == (3, 3, False, 0)
    assert not window.status.batch.isVisible()
    counts = Project.open(project_dir).counts()
    assert counts["predicted"] == 3 and counts["corrected"] == 1
    assert Project.open(project_dir).mask_path(first.id).read_bytes() == before
    before = window.current_id
    window.actions["next_to_label"].trigger()
    waiting = {r.id for r in Project.open(project_dir).most_uncertain()} - {before}
    qtbot.waitUntil(lambda: window.current_id in waiting, timeout=5_000)
    # the list says why this image comes next
    model = window.image_list.model
    tip = model.data(model.index(model.row_of[window.current_id]), Qt.ItemDataRole.ToolTipRole)
    assert "Next (N): " in tip and "least sure" in tip


def test_a_corrupt_image_is_reported_and_the_app_goes_on(qtbot, window, tmp_path, photo_folder):
    (photo_folder / "aaa_broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    window.opening.open_paths([photo_folder])
    qtbot.waitUntil(lambda: "Cannot show this image" in window.canvas.message, timeout=10_000)
    assert "aaa_broken.png" in window.canvas.message
    window.image_list.step(1)
    wait_for_image(qtbot, window, "img_0.png")


def test_a_bad_checkpoint_is_reported_and_the_app_goes_on(qtbot, window, tmp_path, photo_folder):
    window.opening.open_paths([photo_folder])
    wait_for_image(qtbot, window, "img_0.png")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x80\x04 not a checkpoint")
    with qtbot.waitSignal(window.worker.model_failed, timeout=10_000) as blocker:
        window.workspace.request_model(bad)
    assert "bad.safetensors" in blocker.args[1]
    window.image_list.step(1)
    wait_for_image(qtbot, window, "img_1.png")


def test_filter_by_state_and_name(qtbot, window, tmp_path, photo_folder):
    window.opening.open_paths([_project_with_mask(tmp_path, photo_folder)])
    qtbot.waitUntil(lambda: _rows(window) == 4, timeout=10_000)
    box = window.image_list.state_box
    box.setCurrentIndex(box.findData("corrected"))
    assert _rows(window) == 1
    box.setCurrentIndex(box.findData("uncorrected"))
    assert _rows(window) == 3
    box.setCurrentIndex(0)
    window.image_list.search.setText("img_3")
    assert _rows(window) == 1
    window.image_list.search.setText("IMG_3.png")  # plain text, not a pattern: "." is a dot
    assert _rows(window) == 1


def test_dropping_a_folder_opens_it(qtbot, window, photo_folder):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(photo_folder))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    qtbot.waitUntil(lambda: _rows(window) == 4, timeout=10_000)


def test_settings_persist_between_runs(qtbot, tmp_path, window, monkeypatch):
    from PySide6.QtCore import QSettings

    from fcn_studio.ui.window.main_window import MainWindow

    window.class_panel.opacity.setValue(30)
    close_window(qtbot, window)
    again = MainWindow(settings=QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    assert again.class_panel.opacity.value() == 30
    close_window(qtbot, again)


def test_thumbnails_fill_in_off_the_gui_thread(qtbot, window, photo_folder, monkeypatch):
    from fcn_studio.ui.panels import image_list

    made_on, real = [], image_list.make_thumbnail
    monkeypatch.setattr(image_list, "make_thumbnail",
                        lambda *a, **k: made_on.append(threading.get_ident()) or real(*a, **k))
    window.opening.open_paths([photo_folder])
    qtbot.waitUntil(lambda: _rows(window) == 4, timeout=10_000)
    model = window.image_list.model
    for row in range(4):
        model.data(model.index(row), Qt.ItemDataRole.DecorationRole)
    qtbot.waitUntil(lambda: len(model._thumbs) == 4, timeout=10_000)
    assert made_on and threading.get_ident() not in made_on


def test_label_set_from_a_checkpoint_replaces_an_unlabelled_projects(qtbot, window, tmp_path, photo_folder,
                                                                      tiny_checkpoint):
    project = Project.create(tmp_path / "voc")
    project.add_images([photo_folder])
    project.set_model_path(tiny_checkpoint)
    project.close()
    window.opening.open_paths([tmp_path / "voc"])
    qtbot.waitUntil(lambda: window.class_panel.list.count() == 4, timeout=20_000)
    assert Project.open(tmp_path / "voc").labels.names == SAMPLE_LABELS.names


def test_mask_on_disk_of_the_wrong_size_is_reported(qtbot, window, tmp_path, photo_folder):
    project_dir = _project_with_mask(tmp_path, photo_folder)
    project = Project.open(project_dir)
    write_mask(project.mask_path(project.images()[0].id), np.zeros((5, 5), np.uint8))
    project.close()
    window.opening.open_paths([project_dir])
    qtbot.waitUntil(lambda: "Cannot show this image" in window.canvas.message, timeout=10_000)
    assert "5x5" in window.canvas.message


def test_help_menu_sample_project_can_be_labelled_right_away(qtbot, window, tmp_path):
    window.opening.create_sample_project(tmp_path / "sample")
    qtbot.waitUntil(lambda: _rows(window) == 16, timeout=20_000)
    assert (tmp_path / "sample" / "ground_truth").is_dir()
    assert window.class_panel.list.count() == 4 and "sample" in window.windowTitle()
    qtbot.waitUntil(lambda: window.workspace.model_path is not None, timeout=60_000)  # loaded: the project's now
    assert Project.open(tmp_path / "sample").model_path.name.startswith("default-")


def test_uncaught_exceptions_are_logged_not_fatal(window, tmp_path, monkeypatch):
    import logging
    import sys

    from fcn_studio.ui.errors import install_excepthook

    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logging.getLogger("fcn_studio").addHandler(handler)
    old = sys.excepthook
    install_excepthook()
    try:
        try:
            raise ValueError("boom")
        except ValueError:
            sys.excepthook(*sys.exc_info())
    finally:
        sys.excepthook = old
        logging.getLogger("fcn_studio").removeHandler(handler)
    assert any("boom" in r.getMessage() for r in records)
    assert window.isVisible()


def test_device_choice_is_remembered_and_applied(qtbot, window, tmp_path, photo_folder, tiny_checkpoint):
    window.opening.open_paths([_project_with_mask(tmp_path, photo_folder, model=tiny_checkpoint)])
    qtbot.waitUntil(lambda: window.worker.predictor is not None, timeout=20_000)
    with qtbot.waitSignal(window.worker.model_ready, timeout=20_000) as blocker:
        window.actions["device_cpu"].trigger()
    assert "CPU" in blocker.args[1] and window.settings.value("device") == "cpu"
    if not __import__("torch").cuda.is_available():
        with qtbot.waitSignal(window.worker.model_failed, timeout=20_000) as failed:
            window.actions["device_cuda"].trigger()
        assert "CUDA is not available" in failed.args[1]


def test_another_project_takes_the_last_ones_image_off_the_canvas_at_once_but_save_as_does_not(
        qtbot, window, tmp_path, photo_folder):
    for name in ("a", "b"):
        project = Project.create(tmp_path / name, SAMPLE_LABELS)
        project.add_images([photo_folder])
        project.close()
    window.opening.open_paths([tmp_path / "a"])
    wait_for_image(qtbot, window, "img_0.png")
    assert window.canvas.message == ""
    window.opening.open_project(tmp_path / "b")  # b's first image decodes in the background meanwhile
    assert window.canvas.message == "Choose an image on the left."
    wait_for_image(qtbot, window, "img_0.png")
    window.workspace.project_changed.emit(window.project)  # the same project going on (as after Save as)
    assert window.canvas.message == ""
