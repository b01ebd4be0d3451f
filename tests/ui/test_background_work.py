"""Background work in the real window: results that belong to a project no longer open are dropped,
and slow jobs never stall showing an image (they run in lanes of their own)."""

import threading

from PIL import Image
from PySide6.QtCore import Qt

from fcn_studio.core.sample_data import SAMPLE_LABELS, sample_image
from fcn_studio.project.project import Project
from tests.ui.conftest import wait_for_image
from tests.ui.test_editing import at


def _project(root, n, size, model):
    (root / "images").mkdir(parents=True)
    for i in range(n):
        Image.fromarray(sample_image(i, *size)[0]).save(root / "images" / f"{root.name}_{i}.png")
    project = Project.create(root, SAMPLE_LABELS)
    project.add_images([root / "images"])
    project.set_model_path(model)
    project.close()
    return root


def test_switching_projects_during_predict_all_ends_that_batch_as_cancelled(qtbot, window, tmp_path,
                                                                          tiny_checkpoint):
    first = _project(tmp_path / "first", 40, (96, 128), tiny_checkpoint)  # far from done at the switch
    second = _project(tmp_path / "second", 3, (64, 80), tiny_checkpoint)
    window.opening.open_paths([first])
    qtbot.waitUntil(lambda: window.worker.predictor is not None, timeout=20_000)
    shapes = []
    window.worker.predicted.connect(lambda _id, labels, _c, _s: shapes.append(labels.shape))
    with qtbot.waitSignal(window.worker.batch_finished, timeout=20_000) as blocker:
        window.actions["predict_all"].trigger()
        shapes.clear()
        window.opening.open_paths([second])
    done, total, cancelled, failures = blocker.args
    assert cancelled and total == 40 and done + failures < 40
    assert not window.status.batch.isVisible() and "cancelled" in window.status.currentMessage()
    wait_for_image(qtbot, window, "second_0.png")
    qtbot.waitUntil(lambda: window.worker.predictor is not None and window.overlay.mask is not None, timeout=20_000)
    with qtbot.waitSignal(window.worker.batch_finished, timeout=60_000) as blocker:
        window.actions["predict_all"].trigger()
    assert blocker.args == [3, 3, False, 0]  # the new batch counts only its own images
    assert shapes and all(s == (64, 80) for s in shapes)  # no prediction of the first project leaked in
    assert window.image_list.model.errors == {}
    assert window.session.editor.shape == (64, 80)


def test_slow_background_jobs_never_stall_showing_an_image(qtbot, window, tmp_path, photo_folder):
    from PySide6.QtCore import QThreadPool

    window.opening.open_paths([photo_folder])
    wait_for_image(qtbot, window, "img_0.png")
    release = threading.Event()
    busy = max(4, QThreadPool.globalInstance().maxThreadCount())
    try:
        for _ in range(busy):  # model comparisons, exports, imports: all of them slow at once
            window.shell.background(lambda: release.wait(30), lambda _r: None)
        shown = window.canvas.image_item.buffer
        window.image_list.step(1)
        qtbot.waitUntil(lambda: window.canvas.image_item.buffer is not shown, timeout=10_000)
        assert "img_1.png" in window.windowTitle()
        qtbot.keyClick(window, Qt.Key.Key_S)  # and a smart selection still gets its answer
        vp = window.canvas.viewport()
        with qtbot.waitSignal(window.tools.busy, check_params_cb=lambda text: text == "", timeout=10_000):
            qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=at(window, 20, 20))
            qtbot.mouseMove(vp, at(window, 90, 70))
            qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=at(window, 90, 70))
    finally:
        release.set()


def test_an_image_of_the_previous_project_never_shows_in_the_next_one(qtbot, window, tmp_path, tiny_checkpoint):
    from PySide6.QtWidgets import QApplication

    first = _project(tmp_path / "first", 2, (96, 128), tiny_checkpoint)
    empty = _project(tmp_path / "empty", 0, (96, 128), tiny_checkpoint)
    window.opening.open_paths([first])  # starts decoding first_0.png
    window.opening.open_paths([empty])
    window.lanes.decode.waitForDone(10_000)
    QApplication.processEvents()  # the decoded image arrives after the switch
    assert window.canvas.image_item.buffer is None and "Choose an image" in window.canvas.message
    assert window.session.editor is None and window.current_rgb is None
