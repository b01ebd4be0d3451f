"""A project reopens at the image last worked on, with its filter and zoom (the real window, offscreen,
quit and started again on the same settings)."""

from PySide6.QtCore import QPointF, QSettings, Qt

from tests.ui.conftest import close_window, open_photo_project, wait_for_image
from tests.ui.test_editing import drag


def test_a_project_reopens_at_the_image_filter_and_zoom_it_was_left_at(qtbot, window, tmp_path, photo_folder):
    open_photo_project(qtbot, window, tmp_path, photo_folder)
    box = window.image_list.state_box
    box.setCurrentIndex(box.findData("uncorrected"))
    qtbot.keyClick(window, Qt.Key.Key_D)
    qtbot.keyClick(window, Qt.Key.Key_D)
    wait_for_image(qtbot, window, "img_2.png")
    window.canvas.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_B)
    qtbot.keyClick(window, Qt.Key.Key_1)
    drag(qtbot, window, [(10, 10), (50, 10)])  # corrected: it would leave the "uncorrected" list
    assert window.session.flush(10)
    window.canvas.set_zoom(3.0)
    window.canvas.centerOn(QPointF(90, 60))
    centre = window.canvas.mapToScene(window.canvas.viewport().rect().center())
    close_window(qtbot, window)

    from fcn_studio.ui.window.main_window import MainWindow

    again = MainWindow(settings=QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    again.session_saver.question = lambda: "discard"
    again.show()
    try:
        again.opening.open_project(tmp_path / "proj")
        wait_for_image(qtbot, again, "img_2.png")
        assert again.image_list.state_box.currentData() == "uncorrected"
        assert again.image_list.current_id() == again.current_id
        qtbot.waitUntil(lambda: abs(again.canvas.zoom - 3.0) < 1e-6, timeout=5000)
        now = again.canvas.mapToScene(again.canvas.viewport().rect().center())
        assert abs(now.x() - centre.x()) <= 2 and abs(now.y() - centre.y()) <= 2
    finally:
        close_window(qtbot, again)
