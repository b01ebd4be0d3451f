"""Scrolling a panel never edits a setting: spin boxes, sliders and combo boxes take the mouse wheel
only when they have the focus (a click or Tab gives it). Otherwise the wheel goes on to what holds them,
so a panel scrolls past its fields ("Train for" once went 3.00 -> 0.50 min while scrolling). One filter
for the whole application, installed by the window; scroll bars keep the wheel."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QAbstractSlider, QAbstractSpinBox, QComboBox, QScrollBar, QWidget


def guarded(widget: QObject) -> bool:
    """Whether `widget` is a setting that a stray wheel would change."""
    if isinstance(widget, QScrollBar):
        return False
    return isinstance(widget, (QAbstractSpinBox, QAbstractSlider, QComboBox))


class WheelGuard(QObject):
    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        QCoreApplication.instance().installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802
        if event.type() != QEvent.Type.Wheel or not guarded(obj):
            return False
        widget: QWidget = obj
        if widget.hasFocus():
            return False
        if widget.focusPolicy() & Qt.FocusPolicy.WheelFocus == Qt.FocusPolicy.WheelFocus:
            widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # the wheel gives it no focus either
        pos, parent = event.position(), widget
        while not parent.isWindow() and parent.parentWidget() is not None:  # on to the panel's scroll area
            pos, parent = parent.mapToParent(pos), parent.parentWidget()
            passed = QWheelEvent(pos, event.globalPosition(), event.pixelDelta(), event.angleDelta(), event.buttons(),
                                 event.modifiers(), event.phase(), event.inverted(), event.source())
            QCoreApplication.sendEvent(parent, passed)  # a sent wheel event does not propagate by itself
            if passed.isAccepted():
                break
        return True
