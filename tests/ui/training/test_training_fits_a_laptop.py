"""At 1280 x 720 with the Training tab raised, Start, the progress bar and the loss plot are in view
without scrolling (the Classes list gives up its rows): checked in a real window, each widget's geometry
mapped to the dock's visible area."""

from PySide6.QtCore import QRect
from PySide6.QtWidgets import QDockWidget, QScrollArea, QWidget


def _docks(w) -> dict[str, QDockWidget]:
    return {d.windowTitle(): d for d in w.findChildren(QDockWidget)}


def _in_view(widget: QWidget, area: QScrollArea) -> bool:
    """The whole widget lies inside the scroll area's viewport, as it is scrolled now."""
    viewport = area.viewport()
    top_left = widget.mapTo(viewport, widget.rect().topLeft())
    return viewport.rect().contains(QRect(top_left, widget.size())) and widget.isVisible()


def test_start_progress_and_the_plot_show_without_scrolling_at_1280x720(qtbot, window):
    docks = _docks(window)
    classes, training = docks["Classes"], docks["Training"]
    window.resize(1280, 720)
    qtbot.waitUntil(lambda: classes.height() > 200, timeout=5000)
    training.raise_()
    qtbot.waitUntil(lambda: classes.height() <= classes.minimumSizeHint().height() + 8, timeout=5000)
    panel = window.training_panel
    plain = panel.start.y()
    # keep learning at its wordiest: a version in use, restarted after its process died
    panel.keep.state.setText("learning (started again at 14:22 after: the training process was killed before "
                             "finishing)")
    panel.keep.in_use.setText("In use: v4, trained on 5 images, validation mean IU 0.38, was 0.32")
    qtbot.waitUntil(lambda: panel.start.y() > plain, timeout=5000)  # laid out with the longer texts
    area = next(a for a in window.findChildren(QScrollArea) if a.widget() is panel)
    assert area.verticalScrollBar().value() == 0
    placed = {name: (w.mapTo(area.viewport(), w.rect().topLeft()).y(), w.height())
              for name, w in (("start", panel.start), ("progress", panel.progress), ("plot", panel.loss_plot))}
    seen = f"viewport {area.viewport().height()} px high; top and height: {placed}"
    assert _in_view(panel.start, area), seen
    assert _in_view(panel.progress, area), seen
    assert _in_view(panel.loss_plot, area), seen
    assert panel.loss_plot.height() >= 100, seen  # a plot one can read, not a sliver
    print(f"\n{seen}")


def test_the_wheel_over_a_plot_scrolls_the_panel_and_leaves_the_plot_as_it_was(qtbot, window):
    from PySide6.QtCore import QPoint, QPointF, Qt
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    docks = _docks(window)
    window.resize(1280, 720)
    docks["Training"].raise_()
    panel = window.training_panel
    panel.show_event({"event": "progress", "iteration": 1, "loss": 1.0, "images_per_s": 1.0, "eta_s": None,
                      "epoch": 1, "lr": 0.01})
    panel.show_event({"event": "progress", "iteration": 2, "loss": 0.5, "images_per_s": 1.0, "eta_s": None,
                      "epoch": 1, "lr": 0.01})
    plot = panel.loss_plot
    before = plot.getViewBox().viewRange()
    at = QPointF(plot.width() / 2, plot.height() / 2)
    target = plot.viewport()
    for _ in range(3):  # the person scrolls down with the pointer over the plot
        wheel = QWheelEvent(at, plot.mapToGlobal(at.toPoint()), QPoint(0, 0), QPoint(0, -120),
                            Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase,
                            False)
        QApplication.sendEvent(target, wheel)
        # left to the panel: Qt hands a wheel event nobody accepted to the parents, up to the scroll
        # area (only a real one: a synthetic event like this one never propagates)
        assert not wheel.isAccepted()
    assert plot.getViewBox().viewRange() == before  # the plot did not zoom
