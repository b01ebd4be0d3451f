"""Help > Keyboard Shortcuts, View > Panels and the words for an image's state, in the real window."""

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QApplication, QDockWidget

from fcn_studio.core.sample_data import SAMPLE_LABELS
from fcn_studio.project.project import Project
from fcn_studio.ui.dialogs.shortcut_help import shortcut_rows
from tests.ui.conftest import wait_for_image


def _menu_titles(window):
    return {a.text().replace("&", ""): a.menu() for a in window.menuBar().actions()}


def test_every_shortcut_of_every_action_is_listed_and_follows_a_change(qtbot, window):
    rows = shortcut_rows(window)
    listed = {keys for _group, _what, keys in rows}
    for action in window.actions.values():
        for seq in (s for s in action.shortcuts() if not s.isEmpty()):
            text = seq.toString(QKeySequence.SequenceFormat.NativeText)
            assert any(text in keys.split(", ") for keys in listed), (action.text(), text)
    assert ("Edit > Tool", "Navigate", "H") in rows and ("Go", "Next Image", "D, PgDown") in rows
    assert ("Edit > Class", "Class 2: bicycle", "2") in rows  # each number key says which class it picks
    window.actions["tool_brush"].setShortcut(QKeySequence("Ctrl+Alt+B"))  # one source of truth
    assert ("Edit > Tool", "Brush", QKeySequence("Ctrl+Alt+B").toString(QKeySequence.SequenceFormat.NativeText)) \
        in shortcut_rows(window)


def test_the_dialog_opens_from_help_is_grouped_and_searchable(qtbot, window):
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_F1)
    dialog = window._shortcut_dialog
    qtbot.waitUntil(dialog.isVisible)
    groups = [dialog.tree.topLevelItem(i).text(0) for i in range(dialog.tree.topLevelItemCount())]
    assert groups[:3] == ["File", "Edit", "Edit > Tool"] and "Canvas (mouse)" in groups
    qtbot.keyClicks(dialog.search, "brush")
    shown = dialog.visible_rows()
    assert ("Brush", "B") in shown and ("Bigger Brush", "]") in shown and ("Next Image", "D, PgDown") not in shown
    dialog.search.setText("pgdown")  # a key finds its command too
    assert dialog.visible_rows() == [("Next Image", "D, PgDown")]


def test_a_closed_panel_comes_back_from_the_view_menu(qtbot, window):
    panels = next(a.menu() for a in _menu_titles(window)["View"].actions() if a.menu() is not None
                  and a.text().replace("&", "") == "Panels")
    names = [a.text() for a in panels.actions()]
    assert sorted(names) == ["Classes", "Images", "Tools", "Training"]
    classes = next(d for d in window.findChildren(QDockWidget) if d.windowTitle() == "Classes")
    classes.close()
    assert not classes.isVisible()
    next(a for a in panels.actions() if a.text() == "Classes").trigger()
    assert classes.isVisible()


def test_the_class_list_shows_many_rows(qtbot, window):
    window.resize(1280, 800)
    lst = window.class_panel.list
    # the VOC classes, most of them without scrolling, once the layout has followed the resize
    qtbot.waitUntil(lambda: lst.viewport().height() // max(1, lst.sizeHintForRow(0)) >= 12, timeout=5000)
    assert lst.count() == 21
    assert lst.minimumHeight() >= 6 * lst.sizeHintForRow(0)


def test_one_word_for_images_not_yet_corrected(qtbot, window, tmp_path, photo_folder):
    go = _menu_titles(window)["Go"]
    texts = [a.text().replace("&", "") for a in go.actions()]
    assert "Next Uncorrected (new or predicted)" in texts and not any("nlabelled" in t for t in texts)
    box = window.image_list.state_box
    assert box.itemText(box.findData("uncorrected")) == "Uncorrected (new or predicted)"
    project = Project.create(tmp_path / "p", SAMPLE_LABELS)
    project.add_images([photo_folder])
    for rec in project.images()[1:]:  # every other image corrected by a person
        project.save_mask(rec.id, np.zeros((96, 128), np.uint8))
    project.close()
    window.opening.open_paths([tmp_path / "p"])
    wait_for_image(qtbot, window, "img_0.png")
    assert window.actions["class_2"].text() == "Class 2: box"  # the project's classes name the keys
    assert window.actions["class_5"].text() == "Class 5 (none)" and not window.actions["class_5"].isEnabled()
    qtbot.keyClick(QApplication.focusWidget() or window, Qt.Key.Key_U)
    assert "No other uncorrected" in window.status.currentMessage()
