"""Help > Keyboard Shortcuts: every shortcut, read from the window's menus and actions at the moment
the dialog opens (so the list cannot go stale), grouped by menu and searchable, beside the mouse
gestures of the canvas."""

from __future__ import annotations

import re

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from fcn_studio.ui.guide import guide_link_html

# The canvas's mouse gestures and held keys are event handling, not actions: they are listed here.
GESTURES = (
    ("Wheel", "Zoom around the cursor"),
    ("Middle drag, or Space + drag", "Pan (in every tool)"),
    ("Left drag in Navigate (H)", "Pan; a click only focuses the canvas"),
    ("Right drag (brush, lasso) / right click (fill)", "Erase"),
    ("Right click or double click (polygon)", "Close the polygon"),
    ("Alt + click", "Pick the class under the cursor"),
)
MOUSE_GROUP = "Canvas (mouse)"


def _plain(text: str) -> str:
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&")


def _keys(action: QAction) -> str:
    return ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in action.shortcuts() if not s.isEmpty())


def _walk(menu: QMenu, path: str, rows: list[tuple[str, str, str]], seen: set[int]) -> None:
    for action in menu.actions():
        if action.menu() is not None:
            _walk(action.menu(), f"{path} > {_plain(action.menu().title())}", rows, seen)
        elif not action.isSeparator():
            seen.add(id(action))
            keys = _keys(action)
            if keys:
                rows.append((path, _plain(action.text()), keys))


def shortcut_rows(window: QMainWindow) -> list[tuple[str, str, str]]:
    """(group, what, keys) for every action with a shortcut: the menus in their order, then actions
    that live outside the menus, then the mouse gestures."""
    rows: list[tuple[str, str, str]] = []
    seen: set[int] = set()
    for top in window.menuBar().actions():
        if top.menu() is not None:
            _walk(top.menu(), _plain(top.menu().title()), rows, seen)
    for action in window.findChildren(QAction):
        if id(action) not in seen and _keys(action) and not action.isSeparator():
            rows.append(("Other", _plain(action.text()), _keys(action)))
    rows += [(MOUSE_GROUP, what, keys) for keys, what in GESTURES]
    return rows


def shortcuts_markdown(rows: list[tuple[str, str, str]]) -> str:
    """The rows as the Markdown tables of docs/shortcuts.md (docs/gen_shortcuts.py writes them there,
    and a test compares): one table per group, in the menus' order; the number keys without the
    class names of whatever project is open."""
    groups: dict[str, list[str]] = {}
    for group, what, keys in rows:
        what = re.sub(r"^(Class \d+)\b.*$", r"\1", what)
        shown = keys if group == MOUSE_GROUP else " / ".join(f"`{k}`" for k in keys.split(", "))
        groups.setdefault(group, []).append(f"| {what.replace('|', '&#124;')} | {shown.replace('|', '&#124;')} |")
    return "\n\n".join(f"### {g}\n\n| command | keys |\n| --- | --- |\n" + "\n".join(lines)
                       for g, lines in groups.items()) + "\n"


class ShortcutDialog(QDialog):
    def __init__(self, window: QMainWindow, parent: QWidget | None = None) -> None:
        super().__init__(parent or window)
        self.setWindowTitle("Keyboard Shortcuts")
        self.window_ = window
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search (a command or a key, e.g. 'brush' or 'Ctrl')")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.apply_filter)
        self.tree = QTreeWidget()
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["Command", "Keys"])
        self.tree.setAlternatingRowColors(True)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.tree.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.guide = QLabel(f"How to do each task, with pictures: {guide_link_html()} (docs/shortcuts.md lists "
                            f"these keys too).")
        self.guide.setWordWrap(True)
        self.guide.setOpenExternalLinks(True)  # the file or page opens in the system's viewer
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.search)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.guide)
        layout.addWidget(buttons)
        self.resize(560, 620)
        self.refresh()

    def refresh(self) -> None:
        """Reads the shortcuts again (they are the actions' own, so they are always current)."""
        self.tree.clear()
        groups: dict[str, QTreeWidgetItem] = {}
        for group, what, keys in shortcut_rows(self.window_):
            parent = groups.get(group)
            if parent is None:
                parent = groups[group] = QTreeWidgetItem(self.tree, [group])
                parent.setFirstColumnSpanned(True)
                font = parent.font(0)
                font.setBold(True)
                parent.setFont(0, font)
            QTreeWidgetItem(parent, [what, keys])
        self.tree.expandAll()
        self.apply_filter(self.search.text())

    def apply_filter(self, text: str) -> None:
        """Shows the rows whose command, keys or group contain the text (any case)."""
        needle = text.strip().lower()
        for g in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(g)
            in_group = needle in group.text(0).lower()
            shown = 0
            for r in range(group.childCount()):
                row = group.child(r)
                hit = not needle or in_group or needle in row.text(0).lower() or needle in row.text(1).lower()
                row.setHidden(not hit)
                shown += hit
            group.setHidden(shown == 0)

    def visible_rows(self) -> list[tuple[str, str]]:
        return [(g.child(r).text(0), g.child(r).text(1))
                for g in (self.tree.topLevelItem(i) for i in range(self.tree.topLevelItemCount())) if not g.isHidden()
                for r in range(g.childCount()) if not g.child(r).isHidden()]


def show_shortcuts(window: QMainWindow) -> ShortcutDialog:
    """One dialog per window, kept open beside the work (not modal), filled afresh each time."""
    dialog = getattr(window, "_shortcut_dialog", None)
    if dialog is None:
        dialog = window._shortcut_dialog = ShortcutDialog(window)
    dialog.refresh()
    dialog.show()
    dialog.raise_()
    dialog.activateWindow()
    return dialog
