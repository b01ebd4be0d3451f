"""The open project's state without a window: what is open, unsaved or failed, which model is in use,
which run is going, and the events panels subscribe to."""

import numpy as np
import pytest
from PIL import Image

from fcn_studio.core.editing.tools import Stroke
from fcn_studio.core.labels import LabelSet
from fcn_studio.project.project import Project
from fcn_studio.workspace import Workspace


@pytest.fixture
def two_projects(tmp_path):
    (tmp_path / "img").mkdir()
    for i in range(2):
        Image.new("RGB", (40, 30)).save(tmp_path / "img" / f"{i}.png")
    a = Project.create(tmp_path / "a", LabelSet(("bg", "cell")))
    a.add_images([tmp_path / "img"])
    a.close()
    Project.create(tmp_path / "b").close()
    return tmp_path / "a", tmp_path / "b"


def test_edits_are_unsaved_until_on_disk_and_switching_projects_saves_them(two_projects):
    ws = Workspace(autosave_delay=60)
    seen = []
    ws.labels_changed.connect(lambda labels: seen.append(labels.names))
    ws.open(Project.open(two_projects[0]))
    assert seen == [("bg", "cell")]
    rec = ws.project.images()[0]
    editor = ws.editing.open_image(rec.id, None, (30, 40))
    stroke = Stroke(editor, 1, 5)
    stroke.to(10, 10)
    stroke.finish()
    ws.editing.operation_finished()
    assert ws.unsaved() == {rec.id: "waiting"}
    first = ws.project
    ws.open(Project.open(two_projects[1]))  # the old project's pending save is written, then it closes
    assert first.closed and ws.unsaved() == {}
    assert Project.open(two_projects[0]).load_mask(rec.id)[10, 10] == 1
    assert ws.close()


def test_a_run_belongs_to_the_project_that_started_it(two_projects, tmp_path):
    ws = Workspace()
    runs = []
    ws.run_changed.connect(runs.append)
    ws.open(Project.open(two_projects[0]))
    run = ws.start_run(tmp_path / "run.safetensors")
    assert ws.owns(run) and runs == [run]
    ws.open(Project.open(two_projects[1]))
    assert not ws.owns(run)  # its results must not touch the project open now
    ws.end_run(run)
    assert runs == [run, None] and ws.run is None
    ws.close()


def test_the_model_in_use_is_known_and_changes_only_when_a_request_loads(two_projects, tmp_path):
    ws = Workspace()
    ws.open(Project.open(two_projects[0]))
    models = []
    ws.model_changed.connect(lambda path, labels: models.append((path.name, labels.names)))
    request = ws.request_model(tmp_path / "m.safetensors")
    assert ws.loading is request and ws.project.model_path is None  # not before it loads
    assert ws.model_loaded(request, LabelSet(("bg", "cell")))
    assert ws.model_path.name == "m.safetensors" and models == [("m.safetensors", ("bg", "cell"))]
    assert ws.project.model_path == tmp_path / "m.safetensors"
    failing = ws.request_model(tmp_path / "broken.safetensors")
    assert ws.model_load_failed(failing, "not a checkpoint")
    assert ws.project.model_path == tmp_path / "m.safetensors" and ws.loading is None
    late = ws.request_model(tmp_path / "late.safetensors")
    ws.open(Project.open(two_projects[1]))
    assert ws.model_path is None  # a new project: its own model is loaded next
    assert not ws.model_loaded(late, LabelSet(("bg", "cell")))  # loaded for the project left behind
    assert ws.model_path is None and ws.project.model_path is None
    ws.close()


def test_edits_wait_for_the_chosen_image_and_for_long_operations(two_projects):
    ws = Workspace(autosave_delay=60)
    ws.open(Project.open(two_projects[0]))
    first, second = (r.id for r in ws.project.images())
    token = ws.choose_image(first)
    assert ws.editor is None  # still opening
    ws.image_shown(token, first, None, (30, 40))
    assert ws.ready and ws.editor is ws.editing.editors[first]
    late = ws.choose_image(second)
    assert ws.current_id == second and ws.editor is None  # never the image left behind
    assert ws.image_shown(token, first, None, (30, 40)) is None  # a late decode of the old one
    ws.image_shown(late, second, None, (30, 40))
    assert ws.begin_busy("the classes are being changed") and not ws.begin_busy("an import")
    assert ws.editor is None and ws.editing.undo() is None and ws.editing.mark("reviewed") is False
    ws.end_busy()
    assert ws.editor is ws.editing.editors[second]
    ws.close()


def test_marking_an_untouched_prediction_reviewed_stores_it_as_the_persons(two_projects):
    ws = Workspace(autosave_delay=0)
    ws.open(Project.open(two_projects[0]))
    rec = ws.project.images()[0]
    pred = np.zeros((30, 40), np.uint8)
    ws.project.save_prediction(rec.id, pred, pred.astype(np.float32), 0.5)
    ws.editing.open_image(rec.id, pred, (30, 40), human=False)
    assert ws.editing.mark("reviewed")
    assert ws.editing.flush(5)
    assert ws.project.image(rec.id).state == "reviewed" and ws.project.load_mask(rec.id) is not None
    ws.editing.undo()  # the mark undone: back to the model's prediction
    assert ws.editing.flush(5)
    assert ws.project.image(rec.id).state == "predicted" and ws.project.load_mask(rec.id) is None
    ws.close()


def test_a_failing_save_is_announced_once_until_it_succeeds(two_projects, read_only):
    ws = Workspace(autosave_delay=0)
    ws.open(Project.open(two_projects[0]))
    rec = ws.project.images()[0]
    announced = []
    ws.editing.save_failed.connect(lambda image_id, message, first: announced.append(first))
    ws.editing.open_image(rec.id, None, (30, 40))
    undo_read_only = read_only(two_projects[0] / "masks")
    editor = ws.editing.editor
    stroke = Stroke(editor, 1, 5)
    stroke.to(10, 10)
    stroke.finish()
    ws.editing.operation_finished()
    ws.editing.flush(5)
    ws.editing.flush(5)  # retried: fails again
    assert announced[0] is True and len(announced) >= 2 and not any(announced[1:])  # a dialog once, not per retry
    undo_read_only()
    assert ws.editing.flush(5)
    assert ws.project.load_mask(rec.id)[10, 10] == 1
    ws.close()


def _stroke(ws, image_id, value=1):
    editor = ws.editing.open_image(image_id, None, (30, 40))
    stroke = Stroke(editor, value, 5)
    stroke.to(10, 10)
    stroke.finish()
    ws.editing.operation_finished(image_id)
    return editor


def test_an_import_forgets_only_the_editors_of_the_images_it_wrote(two_projects):
    ws = Workspace(autosave_delay=0.01)
    ws.open(Project.open(two_projects[0]))
    a, b = ws.project.images()
    _stroke(ws, a.id)
    _stroke(ws, b.id)
    assert ws.editing.flush(10)
    assert ws.masks_imported([b.id], labels_changed=False) == [b.id]
    assert a.id in ws.editing.editors and b.id not in ws.editing.editors
    ws.editing.current_id = a.id
    assert ws.editing.undo() is not None  # the other image's history survived
    ws.close()


def test_a_session_continues_as_its_saved_copy_with_its_undo_history(two_projects, tmp_path):
    from fcn_studio.project.save_as import save_as

    ws = Workspace(autosave_delay=0.01)
    session = Project.temporary_session(LabelSet(("bg", "cell")))
    session.add_images([tmp_path / "img"])
    ws.open(session)
    rec = session.images()[0]
    _stroke(ws, rec.id)
    assert ws.editing.flush(10)
    target = save_as(session, tmp_path / "saved")
    assert ws.continue_as(Project.open(target)) and not session.root.exists()
    assert ws.project.image(rec.id).state == "corrected"
    ws.editing.current_id = rec.id
    assert ws.editing.undo() is not None and ws.editing.flush(10)
    assert ws.project.image(rec.id).state == "new" and not ws.project.mask_path(rec.id).exists()
    ws.close()
