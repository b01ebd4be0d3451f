"""A person works while the model trains: a mask undone (back to the prediction, its file removed)
after the run listed it is skipped for that epoch with a warning event, the image leaves the next
epoch, and the run goes on (it used to fail with "[Errno 2] No such file or directory")."""

import json

import jsonschema
import pytest

from fcn_studio.project.project import Project
from fcn_studio.training.config import TrainConfig
from fcn_studio.training.events import SCHEMA_PATH, EventWriter
from fcn_studio.training.trainer import run
from tests.training.conftest import easy_project


def _sides(project: Project) -> tuple[list[int], list[int]]:
    split = project.training_split()
    return [i for i, s in split.items() if s != "val"], [i for i, s in split.items() if s == "val"]


def _train(tmp_path, listener, **overrides) -> list[dict]:
    seen: list[dict] = []
    events = EventWriter()
    events.listeners += [seen.append, listener]
    cfg = TrainConfig(source=tmp_path / "p", out=tmp_path / "p" / "models" / "m.safetensors", backbone="resnet18",
                      weights=None, crop=32, batch_size=4, lr=0.01, device="cpu", **{"epochs": 2, **overrides})
    run(cfg, events)
    return seen


@pytest.mark.parametrize("workers", [0, 1])
def test_a_mask_undone_after_the_run_listed_it_is_skipped_and_leaves_the_next_epoch(tmp_path, workers):
    project, recs, _ = easy_project(tmp_path, 10, 10)
    train_ids, val_ids = _sides(project)
    names = {r.id: r.name for r in recs}
    undone = [train_ids[0], val_ids[0]]

    def undo_while_training(event: dict) -> None:  # listed already: the first epoch is about to read them
        if event["event"] == "started":
            for image_id in undone:
                project.revert_mask(image_id)
                assert not project.mask_path(image_id).exists()

    seen = _train(tmp_path, undo_while_training, follow=True, workers=workers, class_weights=True)
    project.close()
    schema = json.loads(SCHEMA_PATH.read_text())
    for event in seen:
        jsonschema.validate(event, schema)
    assert seen[-1]["event"] == "finished", seen[-1]
    warnings = [e for e in seen if e["event"] == "warning"]
    trained = [e for e in warnings if "this epoch" in e["message"] and e["epoch"] == 1]
    assert [e["skipped"] for e in trained] == [[names[train_ids[0]]]]  # said once in the epoch, not per read
    assert "gone" in trained[0]["message"]
    assert any(names[val_ids[0]] in e["skipped"] for e in warnings if "validation" in e["message"])
    first, second = [e for e in seen if e["event"] == "validation"]
    assert (first["train_images"], first["val_images"]) == (8, 2)  # as listed when the run started
    assert (second["train_images"], second["val_images"]) == (7, 1)  # the undone images left
    assert not [e for e in warnings if e.get("epoch") == 2]  # nothing missing once they left


def test_a_run_that_does_not_follow_the_project_skips_the_missing_mask_every_epoch_and_finishes(tmp_path):
    project, _, _ = easy_project(tmp_path, 10, 10)
    train_ids, _ = _sides(project)

    def undo(event: dict) -> None:
        if event["event"] == "started":
            project.revert_mask(train_ids[1])

    seen = _train(tmp_path, undo, follow=False)
    project.close()
    assert seen[-1]["event"] == "finished"
    warnings = [e for e in seen if e["event"] == "warning"]
    assert [e["epoch"] for e in warnings if "this epoch" in e["message"]] == [1, 2]  # training, each epoch
    assert [e["epoch"] for e in warnings if "validation" in e["message"]] == [1, 2]  # and its held-out regions


def test_a_missing_image_drawn_twice_in_one_batch_is_named_once():
    """Small projects repeat their images to fill an epoch, so one batch can draw the same one twice."""
    from fcn_studio.training import distributed as D
    from fcn_studio.training.data import Skipped
    from fcn_studio.training.trainer import SkipNotes

    seen: list[dict] = []
    events = EventWriter()
    events.listeners.append(seen.append)
    notes = SkipNotes(events, D.Dist())
    gone = Skipped("7", "sample_006.png", "sample_006.png is gone (it left the training set)")
    notes.note([gone, gone], 2)
    notes.note([gone], 2)
    assert [e["skipped"] for e in seen] == [["sample_006.png"]]
    assert seen[0]["message"].count("sample_006.png") == 1


def test_keep_learning_waits_when_the_person_undoes_every_label_and_learns_again_from_the_next(tmp_path):
    """The one corrected image undone while keep learning trains on it: the backend does not end (it was
    counted as a crash and restarted, three undos in a row stopped keep learning); it waits, ready, and
    learns from the next saved label."""
    import threading  # noqa: PLC0415

    from fcn_studio.training.trainer import StopRequested  # noqa: PLC0415

    project, recs, truth = easy_project(tmp_path, 6, 1)
    labelled = next(r for r in recs if project.image(r.id).state == "corrected")
    stop = threading.Event()
    seen: list[dict] = []
    validations = []

    def person(event: dict) -> None:
        seen.append(event)
        if event["event"] != "validation":
            return
        validations.append(event)
        if len(validations) == 1:
            project.revert_mask(labelled.id)  # Ctrl+Z: nothing labelled is left
            threading.Timer(1.5, lambda: project.save_mask(labelled.id, truth[labelled.id])).start()  # painted again
        elif event["train_images"] == 1:
            stop.set()  # learned from the label saved again

    events = EventWriter()
    events.listeners.append(person)
    cfg = TrainConfig(source=tmp_path / "p", out=tmp_path / "p" / "models" / "m.safetensors", backbone="resnet18",
                      weights=None, crop=32, batch_size=4, lr=0.01, device="cpu", follow=True)
    with pytest.raises(StopRequested):
        run(cfg, events, stop)
    project.close()
    assert not [e for e in seen if e["event"] == "failed"]
    assert len(validations) >= 2 and validations[-1]["train_images"] == 1
