"""The mouse wheel scrolls a panel past its settings: a spin box, slider or combo box takes it only when
focused (the real window, offscreen)."""

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QDockWidget, QScrollArea


def wheel(widget, clicks: int = -1) -> None:
    """What a mouse wheel turned over `widget` sends (negative: towards the person, scrolling down)."""
    centre = QPointF(widget.rect().center())
    event = QWheelEvent(centre, QPointF(widget.mapToGlobal(centre.toPoint())), QPoint(0, 0), QPoint(0, 120 * clicks),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def test_scrolling_the_training_panel_over_train_for_changes_nothing_and_scrolls(qtbot, window):
    panel = window.training_panel
    training = next(d for d in window.findChildren(QDockWidget) if d.windowTitle() == "Training")
    training.raise_()
    window.resize(900, 420)  # a small screen: the panel scrolls
    area = next(a for a in window.findChildren(QScrollArea) if a.widget() is panel)
    bar = area.verticalScrollBar()
    qtbot.waitUntil(lambda: panel.minutes.isVisible() and bar.maximum() > 0, timeout=5000)
    panel.minutes.setValue(3.0)
    window.canvas.setFocus()
    before = bar.value()
    for _ in range(5):
        wheel(panel.minutes)
    assert panel.minutes.value() == 3.0  # the setting stays
    assert bar.value() > before  # the panel scrolled instead
    for widget in (panel.batch, window.class_panel.opacity, window.image_list.state_box):
        value = widget.currentIndex() if hasattr(widget, "currentIndex") else widget.value()
        wheel(widget)
        assert value == (widget.currentIndex() if hasattr(widget, "currentIndex") else widget.value())


def test_a_focused_spin_box_takes_the_wheel(qtbot, window):
    size = window.tools_panel.size
    window.activateWindow()
    size.setFocus(Qt.FocusReason.MouseFocusReason)  # as a click gives it
    qtbot.waitUntil(size.hasFocus, timeout=5000)
    before = size.value()
    wheel(size, 1)
    assert size.value() == before + size.singleStep()


def test_focus_that_only_landed_on_a_spin_box_does_not_give_it_the_wheel(qtbot, window):
    """Focus handed on by Qt (a focused button disabled, the window's first focus) is not the person's
    choice: the real window started with "Train for" focused that way and the wheel changed it."""
    panel = window.training_panel
    training = next(d for d in window.findChildren(QDockWidget) if d.windowTitle() == "Training")
    training.raise_()
    window.activateWindow()
    qtbot.waitUntil(panel.minutes.isVisible, timeout=5000)
    panel.minutes.setValue(3.0)
    # the wheel itself would focus it "by mouse" before any event filter sees the wheel
    assert panel.minutes.focusPolicy() & Qt.FocusPolicy.WheelFocus != Qt.FocusPolicy.WheelFocus
    for reason in (Qt.FocusReason.OtherFocusReason, Qt.FocusReason.TabFocusReason):  # no Tab was pressed
        window.canvas.setFocus()
        panel.minutes.setFocus(reason)
        qtbot.waitUntil(panel.minutes.hasFocus, timeout=5000)
        wheel(panel.minutes)
        assert panel.minutes.value() == 3.0, reason
