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
