"""Temporary sessions (loose images) in the real window: the title says so, Save as Project keeps the
work and the undo history, quitting with work asks, and Export works from a session."""

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from fcn_studio.project.formats import ExportOptions
from fcn_studio.project.project import Project
from fcn_studio.ui.datasets import dataset_dialogs, transfer
from tests.ui.conftest import wait_for_image
from tests.ui.test_editing import drag


@pytest.fixture
def painted(qtbot, window, photo_folder):
    """Two loose images opened (no project), one stroke of class 2 on the first."""
    window.session.autosave_delay = 0.05
    window.opening.open_paths([photo_folder / "img_0.png", photo_folder / "img_1.png"])
    wait_for_image(qtbot, window, "img_0.png")
    window.canvas.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_B)  # the brush: the window starts in Navigate
    window.commands.pick_class(2)
    window.tools_panel.size.setValue(5)
    drag(qtbot, window, [(10, 40), (60, 40)])
    assert window.session.flush(10)
    return window.project


def test_the_title_says_unsaved_session(painted, window):
    assert painted.temporary and "unsaved session" in window.windowTitle()


def test_save_as_project_keeps_the_work_the_image_and_the_undo_history(qtbot, window, painted, tmp_path):
    temp_root = painted.root
    window.session_saver.save(tmp_path / "kept")
    qtbot.waitUntil(lambda: not window.project.temporary, timeout=20_000)
    project = window.project
    assert project.root == (tmp_path / "kept").resolve()
    qtbot.waitUntil(lambda: not temp_root.exists(), timeout=10_000)  # the session's folder goes once it is closed
    assert "kept" in window.windowTitle() and "unsaved session" not in window.windowTitle()
    rec = next(r for r in project.images() if r.name == "img_0.png")
    assert project.image(rec.id).state == "corrected" and (project.load_mask(rec.id)[40, 12:58] == 2).all()
    assert project.mask_path(rec.id) == project.root / "masks" / "photos" / "img_0.png"
    window.commands.undo()  # the stroke made in the session is undone in the project
    assert window.status.currentMessage().startswith("Undid")
    assert window.session.flush(10)
    qtbot.waitUntil(lambda: Project.open(tmp_path / "kept").image(rec.id).state == "new", timeout=5000)


def test_quitting_a_session_with_work_asks_and_cancel_keeps_it_open(qtbot, window, painted):
    asked = []
    window.session_saver.question = lambda: asked.append(1) or "cancel"
    window.close()
    assert asked and window.isVisible() and window.project is painted and painted.root.exists()
    window.session_saver.question = lambda: "discard"  # lets the fixture close it


def test_discard_quits_and_deletes_the_session(qtbot, window, painted):
    window.session_saver.question = lambda: "discard"
    window.close()
    qtbot.waitUntil(lambda: window.quitting.done, timeout=10_000)  # the session goes with the workspace
    assert not painted.root.exists()


def test_save_on_quit_saves_then_closes(qtbot, window, painted, tmp_path):
    window.session_saver.question = lambda: "save"
    window.session_saver.choose_folder = lambda: str(tmp_path / "on-quit")
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=20_000)
    project = Project.open(tmp_path / "on-quit")
    assert project.counts()["corrected"] == 1


def test_a_session_without_work_quits_without_a_question(qtbot, window, photo_folder):
    window.opening.open_paths([photo_folder / "img_0.png"])
    wait_for_image(qtbot, window, "img_0.png")
    window.session_saver.question = lambda: pytest.fail("asked with nothing to lose")
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5000)


def test_export_works_from_a_session_and_remembers_its_folder(qtbot, window, painted, tmp_path, monkeypatch):
    chosen = []

    class Accepting(dataset_dialogs.ExportDialog):
        def exec(self):
            chosen.append(self.out.text())
            self.out.setText(str(tmp_path / "exports" / "one"))
            return dataset_dialogs.ExportDialog.DialogCode.Accepted

    monkeypatch.setattr(transfer, "ExportDialog", Accepting)
    window.actions["export"].trigger()
    qtbot.waitUntil(lambda: (tmp_path / "exports" / "one" / "SegmentationClass").is_dir(), timeout=20_000)
    assert len(list((tmp_path / "exports" / "one" / "SegmentationClass").glob("*.png"))) == 1
    window.actions["export"].trigger()
    assert Path(chosen[1]).parent == tmp_path / "exports"  # the folder used last time
    assert ExportOptions().which == "human" and Qt.Key.Key_0 is not None


@pytest.mark.parametrize("how", ["open_images", "open_project", "new_project", "recent", "drop"])
def test_opening_something_else_over_a_session_with_work_asks_and_cancel_keeps_it(qtbot, window, painted,
                                                                                  tmp_path, photo_folder, how):
    other = Project.create(tmp_path / "other")
    other.close()
    asked = []
    window.session_saver.question = lambda: asked.append(window.session_saver.replacing) or "cancel"
    open_it = {
        "open_images": lambda: window.opening.open_paths([photo_folder / "img_2.png"]),  # File > Open Images
        "open_project": lambda: window.opening.open_project(tmp_path / "other"),
        "new_project": lambda: window.opening.new_project(tmp_path / "new"),
        "recent": lambda: window.opening.open_project(str(tmp_path / "other")),  # File > Recent's action
        "drop": lambda: window.opening.open_paths([str(tmp_path / "other")]),
    }[how]
    open_it()
    assert asked == [True]
    assert window.project is painted and painted.root.exists() and not (tmp_path / "new").exists()
    window.session_saver.question = lambda: "discard"
    open_it()
    qtbot.waitUntil(lambda: not painted.root.exists(), timeout=10_000)
    assert window.project is not painted


def test_save_as_project_before_opening_another_keeps_the_work_then_opens_it(qtbot, window, painted, tmp_path):
    other = Project.create(tmp_path / "other")
    other.close()
    window.session_saver.question = lambda: "save"
    window.session_saver.choose_folder = lambda: str(tmp_path / "kept")
    window.opening.open_project(tmp_path / "other")
    qtbot.waitUntil(lambda: window.project is not None and window.project.root == (tmp_path / "other").resolve(),
                    timeout=20_000)
    assert Project.open(tmp_path / "kept").counts()["corrected"] == 1
