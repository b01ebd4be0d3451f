"""Keys reach the window's shortcuts wherever the focus is, unless text is typed (offscreen, real widgets)."""

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from tests.ui.conftest import wait_for_image


def press(qtbot, key, modifier=Qt.KeyboardModifier.NoModifier):
    """A key as the keyboard sends it: to the widget that has the focus."""
    qtbot.keyClick(QApplication.focusWidget(), key, modifier)


def test_after_start_training_a_digit_picks_a_class_and_d_goes_on(qtbot, window, photo_folder):
    window.open_paths([photo_folder])
    wait_for_image(qtbot, window, "img_0.png")
    panel = window.training_panel
    window.findChild(type(window.findChildren(type(window.centralWidget()))[0]))
    dock = [d for d in window.findChildren(__import__("PySide6.QtWidgets").QtWidgets.QDockWidget)
            if d.windowTitle() == "Training"][0]
    dock.raise_()
    qtbot.waitUntil(lambda: panel.start.isVisible())
    panel.start.setFocus()
    panel.start.setEnabled(False)  # what Start does to its own button: Qt moves the focus on
    minutes = panel.minutes.value()
    qtbot.wait(20)
    press(qtbot, Qt.Key.Key_2)
    assert window.tools.current_class == 2 and panel.minutes.value() == minutes
    press(qtbot, Qt.Key.Key_D)
    wait_for_image(qtbot, window, "img_1.png")
