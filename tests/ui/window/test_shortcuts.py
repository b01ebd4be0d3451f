"""Keys reach the window's shortcuts wherever the focus is, unless text is typed: real widgets, real
key events sent where the keyboard sends them (to the focused widget), offscreen."""

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QDockWidget

from tests.ui.conftest import wait_for_image


def press(qtbot, key, modifier=Qt.KeyboardModifier.NoModifier):
    """A key as the keyboard sends it: to the widget that has the focus."""
    qtbot.keyClick(QApplication.focusWidget(), key, modifier)


def dock(window, title):
    return next(d for d in window.findChildren(QDockWidget) if d.windowTitle() == title)


@pytest.fixture
def shown(qtbot, window, photo_folder):
    window.opening.open_paths([photo_folder])
    wait_for_image(qtbot, window, "img_0.png")
    return window


def test_after_start_training_a_digit_picks_a_class_and_d_goes_on(qtbot, shown):
    window, panel = shown, shown.training_panel
    dock(window, "Training").raise_()
    qtbot.waitUntil(panel.start.isVisible)
    panel.start.setFocus()
    panel.start.setEnabled(False)  # what Start does to its own button; Qt hands the focus to "Train for"
    minutes = panel.minutes.value()
    qtbot.waitUntil(window.canvas.hasFocus)  # the focus went home instead, before any key can come
    press(qtbot, Qt.Key.Key_2)
    assert window.tools.current_class == 2 and panel.minutes.value() == minutes
    press(qtbot, Qt.Key.Key_D)
    wait_for_image(qtbot, window, "img_1.png")


def test_a_spin_box_takes_a_typed_number_then_gives_the_keys_back(qtbot, shown):
    window, panel = shown, shown.training_panel
    dock(window, "Training").raise_()
    qtbot.waitUntil(panel.minutes.isVisible)
    qtbot.mouseClick(panel.minutes.lineEdit(), Qt.MouseButton.LeftButton)  # the person clicks into it
    assert panel.minutes.hasFocus()
    panel.minutes.selectAll()
    press(qtbot, Qt.Key.Key_7)
    press(qtbot, Qt.Key.Key_B)  # a letter is no number: the Brush shortcut, even here
    assert window.tools_panel.tool() == "brush" and window.tools.current_class == 1
    press(qtbot, Qt.Key.Key_Return)
    assert panel.minutes.value() == 7.0
    qtbot.waitUntil(window.canvas.hasFocus)  # the edit is finished: the keys are the canvas's again
    press(qtbot, Qt.Key.Key_3)
    assert window.tools.current_class == 3 and panel.minutes.value() == 7.0


def test_an_arrow_click_on_a_spin_box_steps_it_and_gives_the_focus_back(qtbot, shown):
    window, size = shown, shown.tools_panel.size
    before = size.value()
    up_arrow = QPoint(size.width() - 6, 4)
    qtbot.mouseClick(size, Qt.MouseButton.LeftButton, pos=up_arrow)
    assert size.value() == before + 1
    qtbot.waitUntil(window.canvas.hasFocus)
    press(qtbot, Qt.Key.Key_4)
    assert window.tools.current_class == 4 and size.value() == before + 1


def test_switching_the_dock_tab_never_leaves_the_focus_on_a_hidden_spin_box(qtbot, shown):
    window, panel = shown, shown.training_panel
    dock(window, "Training").raise_()
    qtbot.waitUntil(panel.minutes.isVisible)
    qtbot.mouseClick(panel.minutes.lineEdit(), Qt.MouseButton.LeftButton)
    assert panel.minutes.hasFocus()
    dock(window, "Tools").raise_()  # the Tools tab: the spin box is behind it now (Qt keeps it "visible")
    qtbot.waitUntil(window.canvas.hasFocus)
    minutes = panel.minutes.value()
    press(qtbot, Qt.Key.Key_2)
    press(qtbot, Qt.Key.Key_D)
    assert window.tools.current_class == 2 and panel.minutes.value() == minutes
    wait_for_image(qtbot, window, "img_1.png")


def test_typing_in_a_text_field_types_and_triggers_nothing(qtbot, shown):
    window, search = shown, shown.image_list.search
    qtbot.mouseClick(search, Qt.MouseButton.LeftButton)
    for key in (Qt.Key.Key_D, Qt.Key.Key_2, Qt.Key.Key_B):
        press(qtbot, key)
    assert search.text().lower() == "d2b"
    assert window.tools.current_class == 1 and window.tools_panel.tool() == "navigate"
    assert "img_0.png" in window.windowTitle()


def test_keys_work_from_a_floating_panel_too(qtbot, shown):
    window, panel = shown, shown.training_panel
    training = dock(window, "Training")
    training.setFloating(True)
    training.show()
    training.windowHandle().requestActivate()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is training)
    qtbot.mouseClick(panel.minutes.lineEdit(), Qt.MouseButton.LeftButton)
    assert panel.minutes.hasFocus() and panel.minutes.window() is training
    press(qtbot, Qt.Key.Key_B)
    assert window.tools_panel.tool() == "brush"
