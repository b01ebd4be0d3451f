"""Fits a laptop: the window's minimum fits 1280x720 with every panel docked, the canvas keeps the space
first when the window narrows, and the side columns come back to their widths when it widens again."""

from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QDockWidget


def _settle() -> None:
    """Delivers the queued layout requests (and those they queue in turn) now."""
    QApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)


def _until(qtbot, condition) -> None:
    """Layout follows a resize through queued events: on a busy machine that takes longer than 50 ms."""
    qtbot.waitUntil(condition, timeout=5000)


def _docks(w) -> dict[str, QDockWidget]:
    return {d.windowTitle(): d for d in w.findChildren(QDockWidget)}


def test_the_window_fits_1280x720_with_every_panel_docked(qtbot, window):
    docks = _docks(window)
    assert all(d.isVisible() and not d.isFloating() for d in docks.values())
    hint = window.minimumSizeHint()
    assert hint.width() <= 1280 - 20 and hint.height() <= 720 - 80  # frame, title bar and a panel or taskbar
    window.class_panel.list.setMinimumHeight(21 * 20)  # every VOC class in view: the panel scrolls instead
    window.tools_panel.setMinimumHeight(400)
    _settle()
    assert window.minimumSizeHint().height() <= 720 - 80


def test_narrowing_shrinks_the_panels_first_and_widening_brings_them_back(qtbot, window):
    docks = _docks(window)
    images, classes = docks["Images"], docks["Classes"]
    window.resize(1280, 720)
    _until(qtbot, lambda: window.canvas.width() >= 0.45 * 1280 and images.width() >= 240)
    window.resize(900, 700)
    # the canvas kept its share; the columns gave width
    _until(qtbot, lambda: window.canvas.width() >= 0.4 * 900 and images.width() < 240 and classes.width() < 330)
    window.resize(1600, 900)
    # back, not left narrow
    _until(qtbot, lambda: abs(images.width() - 260) <= 8 and abs(classes.width() - 330) <= 8)
    window.resizeDocks([images], [380], Qt.Orientation.Horizontal)  # the person drags the separator ...
    _until(qtbot, lambda: abs(images.width() - 380) <= 8)
    release = QMouseEvent(QEvent.Type.MouseButtonRelease, QPointF(images.width() + 2, 300),
                          QPointF(images.width() + 2, 300), Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton,
                          Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, release)  # ... and lets go
    window.resize(1000, 700)
    _until(qtbot, lambda: images.width() < 380 - 8)
    window.resize(1600, 900)
    _until(qtbot, lambda: abs(images.width() - 380) <= 8)  # their width comes back, and is remembered
    assert int(window.settings.value("dock_widths")["dock_Images"]) == images.width()


def test_the_classes_list_gives_up_rows_while_training_is_raised(qtbot, window):
    """At 1280 x 720 the Training tab gets the right column's height, the Classes list keeping its least;
    back on Tools, the Classes list has its rows again."""
    from PySide6.QtWidgets import QScrollArea

    docks = _docks(window)
    classes, training, tools = docks["Classes"], docks["Training"], docks["Tools"]
    window.resize(1280, 720)
    _until(qtbot, lambda: classes.height() > 200)
    rows = classes.height()
    training.raise_()
    _until(qtbot, lambda: classes.height() <= classes.minimumSizeHint().height() + 8)
    panel = window.training_panel
    area = next(a for a in window.findChildren(QScrollArea) if a.widget() is panel)
    assert area.verticalScrollBar().value() == 0
    assert panel.start.geometry().bottom() < area.viewport().height()  # Start shows without scrolling
    tools.raise_()
    _until(qtbot, lambda: abs(classes.height() - rows) <= 24)  # about its rows again (Tools keeps its least)
