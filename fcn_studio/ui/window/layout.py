"""Fitting a laptop: the window fits 1280x720 with every panel docked, and the canvas gets the space
first. Side panels scroll vertically instead of setting the window's minimum height; when the window
narrows, the side columns give up width (down to their minimum) before the canvas goes below half the
window; when it widens again, each column returns to the width the person last chose for it."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QScrollArea, QStyle, QWidget

CANVAS_SHARE = 0.5  # the canvas keeps at least this share of the window's width while docks can shrink
CANVAS_MIN = (320, 240)  # below this the canvas is of no use; the docks shrink first


def vertical_scroll(panel: QWidget) -> QScrollArea:
    """`panel` in a scroll area that scrolls up and down only: its height never sets the window's
    minimum, and its width never drops below what its controls need (no sideways scroll bar)."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    area.setWidget(panel)
    bar = area.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
    area.setMinimumWidth(panel.minimumSizeHint().width() + bar)
    return area


def fit_screen(top: QWidget, width: int, height: int) -> None:
    """The first size: `width` x `height`, or the screen's free area when that is smaller (a 1366x768
    laptop), leaving room for the window's frame."""
    free = top.screen().availableGeometry()
    top.resize(min(width, free.width()), min(height, free.height() - 40))


def restore_window(top: QWidget, settings) -> None:
    """The window as it was left: its saved geometry, maximised again if it was (on any screen), or the
    first size when the saved one does not fit this screen. Qt alone un-maximises a window saved on a
    larger screen and shrinks it to two thirds of this one (856 x 480 on 1280 x 720)."""
    geometry = settings.value("geometry")
    if geometry is None:
        fit_screen(top, 1280, 800)
        return
    top.restoreGeometry(geometry)
    if str(settings.value("maximized", "false")).lower() == "true":
        top.setWindowState(top.windowState() | Qt.WindowState.WindowMaximized)
        return
    saved = settings.value("window_size")
    if saved is not None and saved != top.size():  # shrunk to fit a smaller screen
        fit_screen(top, 1280, 800)


def remember_window(top: QWidget, settings) -> None:
    """What `restore_window` needs, saved on quitting."""
    settings.setValue("geometry", top.saveGeometry())
    settings.setValue("maximized", top.isMaximized())
    settings.setValue("window_size", top.normalGeometry().size() if top.isMaximized() else top.size())


class DockSizer(QObject):
    """Watches the window's width. `columns` maps a dock standing for its side column to the width it
    starts with (or the one saved); dragging a column's separator makes that the width to return to."""

    def __init__(self, frame: QWidget, canvas: QWidget, resize_docks: Callable, columns: dict[QDockWidget, int],
                 settings=None) -> None:
        """`frame`: the top-level widget whose width is watched; `resize_docks`: its dock layout's
        resizeDocks(docks, sizes, orientation)."""
        super().__init__(frame)
        self.frame, self.resize_docks = frame, resize_docks
        self.settings = settings
        saved = settings.value("dock_widths", {}) if settings is not None else {}
        saved = saved if isinstance(saved, dict) else {}
        self.preferred = {d: _int(saved.get(d.objectName()), w) for d, w in columns.items()}
        self._window_width = frame.width()
        canvas.setMinimumSize(*CANVAS_MIN)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.apply)
        frame.installEventFilter(self)  # its resizes, and the releases that end a separator drag

    def eventFilter(self, obj, event) -> bool:  # noqa: N802
        kind = event.type()
        if kind == QEvent.Type.Resize and self.frame.width() != self._window_width:
            self._window_width = self.frame.width()
            self._timer.start()
        elif kind == QEvent.Type.MouseButtonRelease:
            self.remember()  # a separator drag ends on the window itself: the widths are the person's
        return False

    def remember(self) -> None:
        """The columns' current widths become the ones to return to."""
        for dock in self.preferred:
            if dock.isVisible() and not dock.isFloating():
                self.preferred[dock] = dock.width()
        if self.settings is not None:
            self.settings.setValue("dock_widths", {d.objectName(): w for d, w in self.preferred.items()})

    def apply(self) -> None:
        """Columns at their preferred widths, scaled down together while the canvas would get less than
        its share; Qt keeps each at its own minimum."""
        docked = [d for d in self.preferred if d.isVisible() and not d.isFloating()]
        if not docked:
            return
        room = int(self.frame.width() * (1 - CANVAS_SHARE))
        wanted = [self.preferred[d] for d in docked]
        scale = min(1.0, room / max(1, sum(wanted)))
        self.resize_docks(docked, [max(1, int(w * scale)) for w in wanted], Qt.Orientation.Horizontal)


class RoomForTraining(QObject):
    """While the Training tab is raised, the Classes list above it gives up its rows (down to its
    minimum) so Start, the progress and the plots fit a laptop's screen; when the Tools tab comes back,
    so does the Classes list's height."""

    def __init__(self, classes: QDockWidget, training: QDockWidget, resize_docks: Callable,
                 tabified: Callable[[QDockWidget], list[QDockWidget]]) -> None:
        super().__init__(training)
        self.classes, self.training = classes, training
        self.resize_docks, self.tabified = resize_docks, tabified
        self._classes_height: int | None = None
        training.visibilityChanged.connect(self._training_shown)

    def _training_shown(self, shown: bool) -> None:
        classes, training = self.classes, self.training
        if classes.isFloating() or training.isFloating() or not classes.isVisible():
            return
        total = classes.height() + training.height()
        if shown:
            self._classes_height = classes.height()
            least = classes.minimumSizeHint().height()
            QTimer.singleShot(0, self, lambda: self.resize_docks(
                [classes, training], [least, total - least], Qt.Orientation.Vertical))
        elif self._classes_height is not None:
            back, self._classes_height = self._classes_height, None
            def restore() -> None:  # beside the tab raised now (a hidden dock is not resized)
                shown = [d for d in self.tabified(training) if d.isVisible()]
                if shown:
                    self.resize_docks([classes, shown[0]], [back, max(1, total - back)],
                                            Qt.Orientation.Vertical)
            QTimer.singleShot(0, self, restore)


def _int(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
