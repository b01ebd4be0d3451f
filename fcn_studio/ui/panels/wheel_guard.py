"""Scrolling a panel never edits a setting: spin boxes, sliders and combo boxes take the mouse wheel
only when the person gave them the focus (a click, a Tab they pressed, a shortcut); focus that Qt moved
there by itself does not count (a focused button disabled hands the focus on "by Tab": a real window
had "Train for" focused that way when keep learning started, and the wheel changed it). Otherwise the
wheel goes on to what holds them, so a panel scrolls past its fields ("Train for" once went 3.00 -> 0.50
min while scrolling). One filter for the whole application, installed by the window; scroll bars keep
the wheel."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QAbstractSlider, QAbstractSpinBox, QComboBox, QScrollBar, QWidget


def guarded(widget: QObject) -> bool:
    """Whether `widget` is a setting that a stray wheel would change."""
    if isinstance(widget, QScrollBar):
        return False
    return isinstance(widget, (QAbstractSpinBox, QAbstractSlider, QComboBox))


TABS = (Qt.Key.Key_Tab, Qt.Key.Key_Backtab)


def _no_wheel_focus(widget: QWidget) -> None:
    if widget.focusPolicy() & Qt.FocusPolicy.WheelFocus == Qt.FocusPolicy.WheelFocus:
        widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)


class WheelGuard(QObject):
    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self._chosen: QObject | None = None  # the setting the person gave the focus to
        self._tab_pressed = False  # a Tab the person pressed: the focus it moves is theirs
        QCoreApplication.instance().installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802
        kind = event.type()
        if kind in (QEvent.Type.Polish, QEvent.Type.Show) and guarded(obj):
            _no_wheel_focus(obj)  # the wheel itself would give it the focus "by mouse", before any filter
        elif kind == QEvent.Type.KeyPress and event.key() in TABS and event.spontaneous():
            self._tab_pressed = True
        elif kind == QEvent.Type.FocusIn and guarded(obj):
            reason = event.reason()
            tabbed = reason in (Qt.FocusReason.TabFocusReason, Qt.FocusReason.BacktabFocusReason)
            if reason in (Qt.FocusReason.MouseFocusReason, Qt.FocusReason.ShortcutFocusReason) or (
                    tabbed and self._tab_pressed):
                self._chosen = obj
            elif reason not in (Qt.FocusReason.ActiveWindowFocusReason, Qt.FocusReason.PopupFocusReason) \
                    and self._chosen is obj:
                self._chosen = None  # Qt moved the focus here (a focused button was disabled): not theirs
            self._tab_pressed = False
            return False
        elif kind == QEvent.Type.FocusOut and guarded(obj) and self._chosen is obj and event.reason() not in (
                Qt.FocusReason.ActiveWindowFocusReason, Qt.FocusReason.PopupFocusReason):
            self._chosen = None
        if kind != QEvent.Type.Wheel or not guarded(obj):
            return False
        widget: QWidget = obj
        if widget.hasFocus() and widget is self._chosen:
            return False
        _no_wheel_focus(widget)
        pos, parent = event.position(), widget
        while not parent.isWindow() and parent.parentWidget() is not None:  # on to the panel's scroll area
            pos, parent = parent.mapToParent(pos), parent.parentWidget()
            passed = QWheelEvent(pos, event.globalPosition(), event.pixelDelta(), event.angleDelta(), event.buttons(),
                                 event.modifiers(), event.phase(), event.inverted(), event.source())
            QCoreApplication.sendEvent(parent, passed)  # a sent wheel event does not propagate by itself
            if passed.isAccepted():
                break
        return True
