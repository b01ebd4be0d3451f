"""The help inside the app points to the guide in docs/: the F1 dialog links to it, the empty window
names it, and docs/shortcuts.md lists the keys the menus really have (it is generated from them)."""

import importlib.util
from pathlib import Path

from PySide6.QtCore import Qt, QUrl

from fcn_studio.ui.canvas.view import first_run_message
from fcn_studio.ui.dialogs.shortcut_help import shortcut_rows, shortcuts_markdown
from fcn_studio.ui.guide import guide_file, guide_url

ROOT = Path(__file__).resolve().parents[3]


def _gen_shortcuts():
    spec = importlib.util.spec_from_file_location("gen_shortcuts", ROOT / "docs" / "gen_shortcuts.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_guide_is_the_docs_front_page_of_this_clone():
    assert guide_file() == ROOT / "docs" / "README.md"
    assert guide_url() == QUrl.fromLocalFile(str(ROOT / "docs" / "README.md"))


def test_the_f1_dialog_links_to_the_guide(qtbot, window):
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_F1)
    dialog = window._shortcut_dialog
    qtbot.waitUntil(dialog.isVisible)
    assert dialog.guide.isVisible() and dialog.guide.openExternalLinks()
    assert f'href="{guide_url().toString()}"' in dialog.guide.text()


def test_the_empty_window_says_how_to_start_and_where_the_guide_is(qtbot, window):
    assert window.canvas.message == first_run_message()
    assert "Create Sample Project" in window.canvas.message and "F1" in window.canvas.message
    assert str(ROOT / "docs" / "README.md") in window.canvas.message


def test_docs_shortcuts_page_lists_the_menus_keys(qtbot, window):
    gen = _gen_shortcuts()
    page = gen.PAGE.read_text(encoding="utf-8")
    assert gen.tables_in(page) == shortcuts_markdown(shortcut_rows(window)), \
        "docs/shortcuts.md is stale: run make docs"
    assert "| Brush | `B` |" in page and "| Class 3 | `3` |" in page


def test_the_status_line_at_start_points_a_newcomer_to_the_sample_and_the_guide(tmp_path):
    from fcn_studio.ui.app import start_message

    text, ms = start_message([], tmp_path / "fcn-studio.log")
    assert "Create Sample Project" in text and "user guide" in text and ms >= 10_000
    assert start_message(["a.png"], tmp_path / "fcn-studio.log")[0] == f"Log: {tmp_path / 'fcn-studio.log'}"
