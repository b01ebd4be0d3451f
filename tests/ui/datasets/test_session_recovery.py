"""A session left by a crash is offered for recovery at the next start; a running window's session is
never offered, and a leftover without a person's masks goes quietly (the real window, offscreen)."""

import tempfile

import numpy as np

from fcn_studio.core.sample_data import SAMPLE_LABELS
from fcn_studio.project.project import Project
from fcn_studio.ui.datasets.session_recovery import SessionRecovery
from tests.ui.conftest import wait_for_image


def _left_by_a_crash(root, photo_folder, corrected: bool):
    """What a killed window leaves: a session folder with its database (and a person's mask)."""
    project = Project.create(root, SAMPLE_LABELS)
    project.add_images([photo_folder / "img_0.png", photo_folder / "img_1.png"])
    if corrected:
        rec = project.images()[0]
        project.save_mask(rec.id, np.full((96, 128), 3, np.uint8), "corrected")
    project.close()
    return root


def test_a_session_left_by_a_crash_is_offered_and_recovered(qtbot, window, tmp_path, photo_folder, monkeypatch):
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))  # where sessions are made and looked for
    window.opening.open_paths([photo_folder / "img_2.png"])  # this window's own session, in use
    wait_for_image(qtbot, window, "img_2.png")
    live = window.project.root
    assert live.parent == temp.resolve()
    crashed = _left_by_a_crash(temp / "fcn-studio-session-zzzzzzzzzz", photo_folder, corrected=True)
    empty = _left_by_a_crash(temp / "fcn-studio-session-0000000000", photo_folder, corrected=False)
    assert list(SessionRecovery.left_behind()) == [empty, crashed]  # never the one a window holds

    asked = []
    window.shell.asker = lambda title, text: asked.append(text) or True
    assert window.session_recovery.offer()
    assert len(asked) == 1 and str(crashed) in asked[0] and "1 of them corrected" in asked[0]
    assert empty.exists()  # nothing of a person's in it, and no sign a window died holding it: left alone
    project = window.project
    assert project.temporary and project.root == crashed.resolve() and "unsaved session" in window.windowTitle()
    rec = next(r for r in project.images() if r.name == "img_0.png")
    assert project.image(rec.id).state == "corrected" and (project.load_mask(rec.id) == 3).all()
    assert window.session_saver.has_work()  # quitting or opening something else asks again
    assert crashed not in SessionRecovery.left_behind()  # the recovered session is held now


def test_no_deletes_a_session_left_behind(qtbot, window, tmp_path, photo_folder):
    crashed = _left_by_a_crash(tmp_path / "fcn-studio-session-abc", photo_folder, corrected=True)
    window.answers = [False]
    assert not window.session_recovery.offer(tmp_path)
    assert not crashed.exists() and window.project is None


def test_a_session_whose_window_died_holding_it_is_found(qtbot, window, tmp_path, photo_folder):
    """A window that died leaves its lock behind, naming a process that is gone: the lock is stale."""
    crashed = _left_by_a_crash(tmp_path / "fcn-studio-session-dead", photo_folder, corrected=False)
    (crashed / "session.lock").write_text("999999999\nFCN Studio\n\n")  # no such process
    assert not window.session_recovery.offer(tmp_path)
    assert not crashed.exists()  # nothing of a person's in it: removed without a question
