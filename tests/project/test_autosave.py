import threading

import numpy as np
import pytest

from fcn_studio.core.mask_io import read_mask
from fcn_studio.project.autosave import AutoSaver
from fcn_studio.project.project import Project


@pytest.fixture
def project(tmp_path):
    from PIL import Image

    (tmp_path / "img").mkdir()
    for i in range(2):
        Image.new("RGB", (40, 30)).save(tmp_path / "img" / f"{i}.png")
    p = Project.create(tmp_path / "p")
    p.add_images([tmp_path / "img"])
    yield p
    p.close()


def test_the_newest_version_is_saved_once_after_a_pause(project):
    saved, first = [], threading.Event()
    saver = AutoSaver(project, delay=0.2, on_saved=lambda i, v: (saved.append((i, v)), first.set()))
    rec = project.images()[0]
    mask = np.zeros((30, 40), np.uint8)
    for v in range(1, 6):
        mask[0, v] = v
        saver.record(rec.id, mask, v, None)
    assert first.wait(30)
    assert saver.flush()  # whatever else was pending is saved now, and would show below
    assert saved == [(rec.id, 5)]
    assert read_mask(project.mask_path(rec.id))[0, 5] == 5
    assert project.image(rec.id).state == "corrected"
    saver.close()


def test_reviewed_stays_reviewed_when_edited(project):
    rec = project.images()[0]
    project.save_mask(rec.id, np.zeros((30, 40), np.uint8), "reviewed")
    saver = AutoSaver(project, delay=0)
    saver.record(rec.id, np.ones((30, 40), np.uint8), 1, None)
    assert saver.close()
    assert project.image(rec.id).state == "reviewed"


def test_flush_saves_everything_now(project):
    saver = AutoSaver(project, delay=60)
    ids = [r.id for r in project.images()]
    for i in ids:
        saver.record(i, np.full((30, 40), i, np.uint8), 1, None)
    assert saver.pending() == set(ids)
    assert saver.flush(5)
    assert all(read_mask(project.mask_path(i))[0, 0] == i for i in ids)
    saver.close()


def _project_on(folder, tmp_path):
    from PIL import Image

    (tmp_path / "img").mkdir(exist_ok=True)
    Image.new("RGB", (400, 300)).save(tmp_path / "img" / "a.png")
    p = Project.create(folder / "p")
    p.add_images([tmp_path / "img"])
    return p


def test_a_full_disk_is_reported_and_the_image_never_marked_saved(small_disk, tmp_path):
    folder = small_disk
    project = _project_on(folder, tmp_path)
    rec = project.images()[0]
    failed, saved = [], []
    saver = AutoSaver(project, delay=0, on_saved=lambda i, v: saved.append(i),
                      on_failed=lambda i, v, m: failed.append(m))
    with open(folder / "filler", "wb") as fh:  # fill the disk to the last byte
        try:
            while True:
                fh.write(b"\0" * 65536)
        except OSError:
            pass
    noise = np.random.default_rng(0).integers(0, 20, (300, 400)).astype(np.uint8)  # does not compress
    saver.record(rec.id, noise, 1, None)
    saver.flush(5)
    assert failed and "disk is full" in failed[0] and not saved
    assert not project.mask_path(rec.id).exists()
    assert not list((project.root / "masks").glob("*.tmp"))  # no half-written file left behind
    saver.close()
    (folder / "filler").unlink()
    project.close()


def test_a_read_only_folder_is_reported_and_keeps_the_old_mask(read_only, tmp_path):
    project = _project_on(tmp_path, tmp_path)
    rec = project.images()[0]
    project.save_mask(rec.id, np.ones((300, 400), np.uint8))
    failed = []
    saver = AutoSaver(project, delay=0, on_failed=lambda i, v, m: failed.append(m))
    read_only(project.root / "masks")
    saver.record(rec.id, np.full((300, 400), 2, np.uint8), 1, None)
    saver.flush(5)
    assert failed and "read-only" in failed[0]
    assert (read_mask(project.mask_path(rec.id)) == 1).all()
    saver.close()
    project.close()


def test_a_failed_save_stays_pending_until_it_succeeds(read_only, tmp_path):
    project = _project_on(tmp_path, tmp_path)
    rec = project.images()[0]
    project.save_mask(rec.id, np.ones((300, 400), np.uint8))
    saver = AutoSaver(project, delay=0, journal=False)
    undo_read_only = read_only(project.root / "masks")
    saver.record(rec.id, np.full((300, 400), 2, np.uint8), 7, None)
    assert saver.flush(5) is False  # a failed save is not "flushed"
    assert "read-only" in saver.unsaved()[rec.id]  # asked synchronously: still unsaved, and why
    assert saver.flush(5) is False  # tried again, fails again, still pending
    undo_read_only()
    assert saver.flush(5) is True
    assert saver.unsaved() == {}
    assert (read_mask(project.mask_path(rec.id)) == 2).all()
    saver.close()
    project.close()


def test_unsaved_answers_at_once_and_truly(project):
    saver = AutoSaver(project, delay=60)
    rec = project.images()[0]
    assert saver.unsaved() == {}
    saver.record(rec.id, np.ones((30, 40), np.uint8), 1, None)
    assert saver.unsaved() == {rec.id: "waiting"}
    assert saver.flush(5) and saver.unsaved() == {}
    saver.close()


def test_undoing_back_to_the_prediction_makes_the_image_predicted_again(project):
    from fcn_studio.core.editing.mask_editor import MaskEditor
    from fcn_studio.core.editing.tools import Stroke

    rec = project.images()[0]
    prediction = np.zeros((30, 40), np.uint8)
    project.save_prediction(rec.id, prediction, prediction.astype(np.float32), 0.5)
    saver = AutoSaver(project, delay=0)
    editor = MaskEditor(prediction.copy())
    saver.track(rec.id, editor.mask, editor.version, human=False)
    stroke = Stroke(editor, 3, 5)
    stroke.to(10, 10)
    stroke.finish()  # one click paints a dot
    saver.record(rec.id, editor.mask, editor.version, editor.take_touched())
    assert saver.flush(5)
    assert project.image(rec.id).state == "corrected" and project.load_mask(rec.id)[10, 10] == 3
    editor.undo()  # Ctrl+Z: the mask is the prediction again
    saver.record(rec.id, editor.mask, editor.version, editor.take_touched())
    assert saver.flush(5)
    assert project.image(rec.id).state == "predicted"
    assert project.load_mask(rec.id) is None  # what training and export read: nothing of a person's
    assert (project.load_prediction(rec.id) == prediction).all()
    saver.close()


def test_discarded_edits_are_neither_saved_nor_replayed(project):
    rec = project.images()[0]
    saver = AutoSaver(project, delay=60)
    saver.record(rec.id, np.ones((30, 40), np.uint8), 1, None)
    saver.discard(rec.id)
    assert saver.close(5)
    assert project.load_mask(rec.id) is None
    reopened = Project.open(project.root)
    assert reopened.load_mask(rec.id) is None and reopened.restored == []
    reopened.close()


def test_an_edit_the_journal_could_not_hold_is_known_to_live_only_in_memory(read_only, tmp_path):
    project = _project_on(tmp_path, tmp_path)
    rec = project.images()[0]
    saver = AutoSaver(project, delay=0)
    undo_read_only = read_only(project.root / "masks")  # the journal lives there too
    saver.record(rec.id, np.full((300, 400), 2, np.uint8), 1, None)
    assert saver.flush(5) is False
    # the PNG retry fails with its own message; what quitting must say stays true: only in memory
    assert saver.only_in_memory() == {rec.id}
    undo_read_only()
    assert saver.flush(5) and saver.only_in_memory() == set()
    saver.close()
    project.close()


def test_a_project_whose_journal_cannot_be_made_still_edits_and_says_what_is_at_risk(read_only, tmp_path):
    project = _project_on(tmp_path, tmp_path)
    rec = project.images()[0]
    read_only(project.root / "masks")
    saver = AutoSaver(project, delay=0)  # no journal folder can be made: the saver still starts
    assert saver.journal is None and "journal" in saver.journal_problem
    saver.record(rec.id, np.full((300, 400), 2, np.uint8), 1, None)
    assert saver.flush(5) is False and saver.only_in_memory() == {rec.id}
    saver.close(1)
    project.close()
