"""Keys go where a person expects: the window's shortcuts (classes, tools, navigation) work wherever
the focus is, unless text is being typed. One application-level event filter decides, instead of a
fix in every widget:

- A text field (a line edit, an editable text box) keeps every key it types, as in any program: Qt's
  own rule (the field accepts the ShortcutOverride), left alone.
- A spin box keeps only the keys that type a number (digits, sign, decimal point, editing keys);
  any other key (`D`, `B`, `[`...) is a shortcut. Enter, Esc, an arrow-button click or a wheel step
  ends the edit and gives the focus back to the canvas (the "home" widget).
- Focus never stays on, or lands by accident from, a widget that was hidden or disabled (a dock tab
  switched away, the Start button disabled by its own click): it goes home instead of to whatever
  Qt would pick next (often a spin box, which then swallows the digits meant for the classes). A
  dock behind another's tab is not "hidden" to Qt (no Hide event, isVisible() stays true): the
  dock's visibilityChanged tells.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QDockWidget,
    QLineEdit,
    QWidget,
)

K = Qt.Key
NUMBER_KEYS = frozenset({
    *(getattr(K, f"Key_{d}") for d in range(10)), K.Key_Period, K.Key_Comma, K.Key_Minus, K.Key_Plus,
    K.Key_Backspace, K.Key_Delete, K.Key_Left, K.Key_Right, K.Key_Up, K.Key_Down, K.Key_Home, K.Key_End,
    K.Key_PageUp, K.Key_PageDown,
})
FINISH_KEYS = frozenset({K.Key_Return, K.Key_Enter, K.Key_Escape, K.Key_Tab, K.Key_Backtab})


def spin_box_of(widget: QWidget | None) -> QAbstractSpinBox | None:
    """The spin box a widget is (or the line edit inside one belongs to)."""
    while widget is not None:
        if isinstance(widget, QAbstractSpinBox):
            return widget
        if not isinstance(widget, QLineEdit):
            return None
        widget = widget.parentWidget()
    return None


class KeyRouter(QObject):
    """Installed once on the application for one window; `home` (the canvas) takes the focus back."""

    def __init__(self, window: QWidget, home: QWidget) -> None:
        super().__init__(window)
        self.window, self.home = window, home
        app = QApplication.instance()
        app.installEventFilter(self)
        app.focusChanged.connect(self._focus_changed)
        self._behind: set[QDockWidget] = set()  # docks whose tab is switched away (no Hide event for those)
        for dock in window.findChildren(QDockWidget):
            dock.visibilityChanged.connect(lambda shown, d=dock: self._dock_visibility(d, shown))

    def _ours(self, widget: QWidget | None) -> bool:
        """A widget of this window or of one of its floating docks (not of a dialog), not the canvas."""
        if widget is None or widget is self.home:
            return False
        try:
            top = widget.window()
            return top is self.window or (isinstance(top, QDockWidget) and top.parentWidget() is self.window)
        except RuntimeError:  # deleted meanwhile
            return False

    def go_home(self) -> None:
        """The canvas takes the keys (unless the window is closing or another window is active)."""
        try:
            if self.home.isVisible() and self.home.isEnabled() and not getattr(self.window, "closed", False):
                self.home.setFocus(Qt.FocusReason.OtherFocusReason)
        except RuntimeError:  # the window is being deleted
            pass

    def _dock_visibility(self, dock: QDockWidget, shown: bool) -> None:
        (self._behind.discard if shown else self._behind.add)(dock)
        focus = QApplication.focusWidget()
        if not shown and focus is not None and dock.isAncestorOf(focus):
            self._go_home_later()

    def _hidden(self, widget: QWidget) -> bool:
        return (not widget.isVisible() or not widget.isEnabled()
                or any(dock.isAncestorOf(widget) for dock in self._behind))

    def _go_home_later(self) -> None:
        QTimer.singleShot(0, self.go_home)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        kind = event.type()
        if kind == QEvent.Type.ShortcutOverride:
            return self._shortcut_override(event)
        if kind == QEvent.Type.KeyPress:
            focus = QApplication.focusWidget()
            if obj is focus and event.key() in FINISH_KEYS and spin_box_of(focus) is not None and self._ours(focus):
                if event.key() not in (K.Key_Tab, K.Key_Backtab):  # Tab moves on through the panel, as usual
                    self._go_home_later()
        elif kind == QEvent.Type.MouseButtonRelease or kind == QEvent.Type.Wheel:
            if isinstance(obj, QAbstractSpinBox) and self._ours(obj) and obj.hasFocus():
                self._go_home_later()  # a step by the arrow buttons or the wheel is a finished edit
        elif kind == QEvent.Type.Hide:
            focus = QApplication.focusWidget()
            if isinstance(obj, QWidget) and focus is not None and (obj is focus or obj.isAncestorOf(focus)) \
                    and self._ours(focus) and not obj.isWindow():
                self._go_home_later()
        return False

    def _shortcut_override(self, event) -> bool:
        """Returning True with the event ignored lets the shortcut fire; False leaves Qt's choice."""
        focus = QApplication.focusWidget()
        if not self._ours(focus):
            return False
        if self._hidden(focus):
            self.go_home()
            event.ignore()
            return True
        if spin_box_of(focus) is not None:
            plain = not (event.modifiers() & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
                                              | Qt.KeyboardModifier.MetaModifier))
            if plain and (event.key() in NUMBER_KEYS or event.key() in FINISH_KEYS):
                event.accept()  # the spin box's own key (Enter commits it; we take the focus home after)
                return True
            event.ignore()
            return True
        return False

    def _focus_changed(self, old: QWidget | None, new: QWidget | None) -> None:
        """Focus that moved only because its widget was disabled or hidden goes home."""
        try:
            lost = old is not None and (not old.isEnabled() or not old.isVisible())
            if lost and self._ours(new) and self._ours(old):
                self._go_home_later()
        except RuntimeError:  # a widget deleted meanwhile
            pass
