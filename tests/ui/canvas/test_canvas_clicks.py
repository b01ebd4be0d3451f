"""What a click on the canvas does, and what the canvas says back: the window starts in Navigate
(a focusing click never paints), the smart box says when it finds nothing, and the hover tells a
person's pixels from the model's (offscreen, real widgets, real project files)."""

import numpy as np
from PIL import Image
from PySide6.QtCore import QPoint, QPointF, Qt

from fcn_studio.core.sample_data import SAMPLE_LABELS
from fcn_studio.project.project import Project
from tests.ui.conftest import wait_for_image


def at(window, x, y):
    return window.canvas.mapFromScene(QPointF(x + 0.5, y + 0.5))


def drag(qtbot, window, points, button=Qt.MouseButton.LeftButton):
    vp = window.canvas.viewport()
    qtbot.mousePress(vp, button, pos=at(window, *points[0]))
    for p in points[1:]:
        qtbot.mouseMove(vp, at(window, *p))
    qtbot.mouseRelease(vp, button, pos=at(window, *points[-1]))


def _open(qtbot, window, folder, name):
    window.opening.open_paths([folder])
    wait_for_image(qtbot, window, name)
    qtbot.waitUntil(lambda: window.session.editor is not None, timeout=5000)


def test_a_click_to_focus_the_canvas_never_paints_and_a_drag_pans(qtbot, window, photo_folder):
    _open(qtbot, window, photo_folder, "img_0.png")
    assert window.tools_panel.tool() == "navigate"
    window.image_list.view.setFocus()  # the person was in the list
    before = window.overlay.mask.copy()
    qtbot.mouseClick(window.canvas.viewport(), Qt.MouseButton.LeftButton, pos=at(window, 40, 40))
    drag(qtbot, window, [(20, 20), (60, 50)])
    drag(qtbot, window, [(20, 20), (60, 50)], Qt.MouseButton.RightButton)
    assert (window.overlay.mask == before).all() and not window.session.editor.stack.done  # nothing painted
    window.canvas.set_zoom(8)  # zoomed in, a left drag moves the view
    bar = window.canvas.horizontalScrollBar()
    x = bar.value()
    vp = window.canvas.viewport()
    centre = vp.rect().center()
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=centre)
    qtbot.mouseMove(vp, centre + QPoint(-80, 0))
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=centre + QPoint(-80, 0))
    assert bar.value() > x
    window.canvas.fit()
    qtbot.keyClick(window.canvas, Qt.Key.Key_B)  # the brush paints, from the first click on
    qtbot.keyClick(window.canvas, Qt.Key.Key_2)
    drag(qtbot, window, [(20, 40), (60, 40)])
    assert window.overlay.mask[40, 40] == 2


def test_alt_click_picks_a_class_in_navigate_too(qtbot, window, tmp_path, photo_folder):
    project = Project.create(tmp_path / "p", SAMPLE_LABELS)
    project.add_images([photo_folder])
    project.save_mask(project.images()[0].id, np.full((96, 128), 3, np.uint8))
    project.close()
    _open(qtbot, window, tmp_path / "p", "img_0.png")
    vp = window.canvas.viewport()
    qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.AltModifier, at(window, 30, 30))
    assert window.tools.current_class == 3


def test_a_smart_box_that_finds_nothing_says_so(qtbot, window, tmp_path):
    folder = tmp_path / "flat"
    folder.mkdir()
    Image.fromarray(np.full((96, 128, 3), 120, np.uint8)).save(folder / "flat.png")
    window.answers = [False]
    _open(qtbot, window, folder, "flat.png")
    qtbot.keyClick(window.canvas, Qt.Key.Key_S)
    with qtbot.waitSignal(window.tools.notice, timeout=10_000):
        drag(qtbot, window, [(30, 20), (100, 80)])
    assert "found nothing" in window.status.currentMessage()
    assert not window.session.editor.stack.done


def test_hover_says_painted_by_you_over_a_persons_pixels(qtbot, window, tmp_path, photo_folder):
    project = Project.create(tmp_path / "p", SAMPLE_LABELS)
    project.add_images([photo_folder])
    image_id = project.images()[0].id
    labels = np.full((96, 128), 1, np.uint8)  # the model says "disc" everywhere, 0.8 sure
    project.save_prediction(image_id, labels, np.full((96, 128), 0.8, np.float32), 0.2)
    project.close()
    window.session.autosave_delay = 0.05
    _open(qtbot, window, tmp_path / "p", "img_0.png")
    window.canvas.hovered.emit(100, 50)
    assert window.status.hover.text() == "(100, 50)  class disc, model confidence 0.80"
    qtbot.keyClick(window.canvas, Qt.Key.Key_B)
    qtbot.keyClick(window.canvas, Qt.Key.Key_2)
    window.tools_panel.size.setValue(5)
    drag(qtbot, window, [(10, 40), (60, 40)])
    window.canvas.hovered.emit(30, 40)
    assert window.status.hover.text() == "(30, 40)  class box, painted by you (the model said disc)"
    window.canvas.hovered.emit(100, 50)
    assert "model confidence 0.80" in window.status.hover.text()
    assert window.session.flush(10)
    window.image_list.step(1)
    wait_for_image(qtbot, window, "img_1.png")
    window.image_list.step(-1)  # opened again: the person's mask, the prediction beside it
    qtbot.waitUntil(lambda: window.overlay.prediction is not None and window.overlay.mask[40, 30] == 2, timeout=5000)
    window.canvas.hovered.emit(30, 40)
    assert "painted by you" in window.status.hover.text() and "confidence" not in window.status.hover.text()


def test_the_readout_follows_the_image_under_a_cursor_that_did_not_move(qtbot, window, tmp_path, photo_folder):
    """Next image by key, the mouse still: the readout describes the new image's pixel, not the old one's."""
    project = Project.create(tmp_path / "p", SAMPLE_LABELS)
    project.add_images([photo_folder])
    project.close()
    _open(qtbot, window, tmp_path / "p", "img_0.png")
    qtbot.keyClick(window.canvas, Qt.Key.Key_B)
    qtbot.keyClick(window.canvas, Qt.Key.Key_2)
    window.tools_panel.size.setValue(9)
    drag(qtbot, window, [(20, 40), (40, 40)])
    qtbot.mouseMove(window.canvas.viewport(), at(window, 30, 40))
    qtbot.waitUntil(lambda: window.status.hover.text().startswith("(30, 40)  class box"))
    window.image_list.step(1)
    wait_for_image(qtbot, window, "img_1.png")
    qtbot.waitUntil(lambda: "box" not in window.status.hover.text(), timeout=5000)
    assert window.status.hover.text() == "(30, 40)  class unlabelled"
