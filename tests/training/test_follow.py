"""--follow: images a person corrects while training runs join the next epoch, with the pixels as
they are now, also through DataLoader worker processes."""

import json
import shutil
import threading

import jsonschema
import numpy as np
import pytest
import torch

from fcn_studio.core.metrics import scores_from_histogram
from fcn_studio.model.checkpoint import load_checkpoint
from fcn_studio.training import distributed as D
from fcn_studio.training.config import TrainConfig
from fcn_studio.training.data import open_source
from fcn_studio.training.events import SCHEMA_PATH, EventWriter
from fcn_studio.training.stopping import StopRequested
from fcn_studio.training.trainer import NO_VALIDATION, run, validate
from tests.training.conftest import easy_project, write_easy_voc


def _train(tmp_path, events: EventWriter, **overrides) -> list[dict]:
    seen = []
    events.listeners.insert(0, seen.append)
    cfg = TrainConfig(source=tmp_path / "p", out=tmp_path / "p" / "models" / "m.safetensors", backbone="resnet18",
                      weights=None, crop=32, batch_size=4, lr=0.01, device="cpu", follow=True,
                      **{"epochs": 3, **overrides})
    run(cfg, events)
    return seen


def test_new_corrections_join_the_next_epoch(tmp_path):
    project, recs, truth = easy_project(tmp_path, 10, 5)

    def correct_more(event: dict) -> None:  # the annotator goes on while the model trains
        if event["event"] == "validation" and event["epoch"] == 1:
            for rec in recs[5:]:
                project.save_mask(rec.id, truth[rec.id])

    events = EventWriter()
    events.listeners.append(correct_more)
    seen = _train(tmp_path, events, epochs=2)
    project.close()
    validations = [e for e in seen if e["event"] == "validation"]
    first, last = validations[0], validations[-1]
    assert (first["train_images"], first["val_images"]) == (4, 1)
    assert (last["train_images"], last["val_images"]) == (8, 2)


@pytest.mark.parametrize("workers", [0, 1])
def test_a_mask_corrected_again_is_what_the_next_epoch_trains_on(tmp_path, workers):
    project, recs, truth = easy_project(tmp_path, 5, 5)

    def correct_again(event: dict) -> None:  # the person paints every labelled image all "blob"
        if event["event"] == "validation" and event["epoch"] == 1:
            for rec in recs:
                project.save_mask(rec.id, np.ones_like(truth[rec.id]))

    events = EventWriter()
    events.listeners.append(correct_again)
    seen = _train(tmp_path, events, epochs=2, workers=workers)
    project.close()
    first, second = [e["trained_pixels"] for e in seen if e["event"] == "validation"]
    assert first["background"] > first["blob"] > 0  # the original masks: mostly background
    assert second["background"] == 0 and second["blob"] > 0  # only the re-corrected pixels


def test_worker_processes_train_on_the_images_that_joined(tmp_path):
    project, recs, truth = easy_project(tmp_path, 10, 5)

    def label_more(event: dict) -> None:  # five more images, every pixel "blob"
        if event["event"] == "validation" and event["epoch"] == 1:
            for rec in recs[5:]:
                project.save_mask(rec.id, np.ones_like(truth[rec.id]))

    events = EventWriter()
    events.listeners.append(label_more)
    seen = _train(tmp_path, events, epochs=2, workers=1)
    project.close()
    first, second = [e["trained_pixels"] for e in seen if e["event"] == "validation"]
    share = [p["blob"] / (p["blob"] + p["background"]) for p in (first, second)]
    assert share[0] < 0.3  # circles on a background
    assert share[1] > 0.4  # half the training images are now all blob


def test_before_a_whole_image_validates_the_held_out_regions_score_the_run(tmp_path):
    project, _, _ = easy_project(tmp_path, 4, 4)  # 4 labelled: no whole validation image before the fifth
    project.close()
    seen = _train(tmp_path, EventWriter(), epochs=1)
    validation = next(e for e in seen if e["event"] == "validation")
    assert (validation["val_images"], validation["val_regions"], validation["train_images"]) == (0, 4, 4)
    assert validation["mean_iu"] is not None and validation["val_pixels"] > 0
    finished = next(e for e in seen if e["event"] == "finished")
    assert finished["best_mean_iu"] == validation["mean_iu"]


def test_without_validation_images_nothing_is_scored_and_the_run_says_so(tmp_path):
    """A VOC folder of 4 images has no validation image (and no held-out regions: those are a project's)."""
    voc = write_easy_voc(tmp_path / "voc", count=4)
    seen = []
    events = EventWriter()
    events.listeners.append(seen.append)
    run(TrainConfig(source=voc, out=tmp_path / "m.safetensors", backbone="resnet18", weights=None, crop=32,
                    batch_size=4, lr=0.01, device="cpu", epochs=1), events)
    validation = next(e for e in seen if e["event"] == "validation")
    assert validation["val_images"] == 0 and validation["train_images"] == 4
    assert validation["mean_iu"] is None and validation["note"] == NO_VALIDATION
    finished = next(e for e in seen if e["event"] == "finished")
    assert finished["best_mean_iu"] is None
    from fcn_studio.model.checkpoint import load_checkpoint

    _, info = load_checkpoint(finished["best_checkpoint"])  # the newest model is the result, marked unscored
    assert info.provenance["metrics"] == {"split": NO_VALIDATION}



def test_follow_with_no_length_learns_until_stopped_and_keeps_its_best_model(tmp_path):
    """Keep learning from the command line: `train PROJECT --follow` with no limit runs until stopped."""
    project, _, _ = easy_project(tmp_path, 10, 10)
    project.close()
    stop = threading.Event()
    seen: list[dict] = []

    def stop_after_three(event: dict) -> None:
        seen.append(event)
        if event["event"] == "validation" and event["epoch"] == 3:
            stop.set()

    events = EventWriter()
    events.listeners.append(stop_after_three)
    cfg = TrainConfig(source=tmp_path / "p", out=tmp_path / "p" / "models" / "m.safetensors", backbone="resnet18",
                      weights=None, crop=32, batch_size=4, lr=0.01, device="cpu", follow=True)
    with pytest.raises(StopRequested):
        run(cfg, events, stop)
    schema = json.loads(SCHEMA_PATH.read_text())
    for event in seen:
        jsonschema.validate(event, schema)
    started = seen[0]
    assert started["event"] == "started" and started["total_iterations"] is None
    progress = [e for e in seen if e["event"] == "progress"]
    assert progress and all(e["eta_s"] is None and "fraction" not in e for e in progress)
    assert len({round(e["lr"], 12) for e in progress}) == 1  # no schedule runs out: the rate stays
    assert [e["epoch"] for e in seen if e["event"] == "validation"] == [1, 2, 3]
    assert not any(e["event"] == "finished" for e in seen)
    assert (tmp_path / "p" / "models" / "m.safetensors").is_file()
    assert (tmp_path / "p" / "models" / "m.resume.safetensors").is_file()


def _two_validations(tmp_path, on_event) -> list[dict]:
    """Two epochs of training, `on_event` hearing each event as it comes; the two validation events."""
    events = EventWriter()
    events.listeners.append(on_event)
    return [e for e in _train(tmp_path, events, epochs=2) if e["event"] == "validation"]


def _score_now(tmp_path, checkpoint) -> float:
    """The checkpoint's mean IU on the project's validation images and masks as they are now."""
    source = open_source(tmp_path / "p")
    model, info = load_checkpoint(checkpoint)
    return scores_from_histogram(validate(model, source.val, source, info.input, torch.device("cpu"),
                                          D.Dist())[0]).mean_iu


def test_when_the_validation_images_change_the_kept_model_is_scored_again_on_them(tmp_path):
    """A score on other images says nothing: before a new model is compared with the kept one, the kept
    one is scored on the validation images as they are now (images labelled meanwhile joined them)."""
    project, recs, truth = easy_project(tmp_path, 20, 5)
    out = tmp_path / "p" / "models" / "m.safetensors"
    kept_copy = tmp_path / "kept.safetensors"

    def label_more(event: dict) -> None:
        if event["event"] == "validation" and event["epoch"] == 1:
            for rec in recs[5:]:
                project.save_mask(rec.id, truth[rec.id])
        if event["event"] == "validation" and event["epoch"] == 2:
            shutil.copyfile(out, kept_copy)  # the kept model, before this epoch may replace it

    first, second = _two_validations(tmp_path, label_more)
    assert first["val_images"] < second["val_images"]
    assert first["best_mean_iu"] is None  # nothing kept yet
    expected = _score_now(tmp_path, kept_copy)
    project.close()
    assert second["best_mean_iu"] == pytest.approx(expected, abs=1e-9)



def test_when_a_validation_mask_is_corrected_again_the_kept_model_is_scored_again(tmp_path):
    """The same validation images with other labels are other validation data: keep learning's
    comparison scores the kept model on the masks as they are now, not as they were."""
    project, _, truth = easy_project(tmp_path, 10, 10)
    out = tmp_path / "p" / "models" / "m.safetensors"
    kept_copy = tmp_path / "kept.safetensors"

    def correct_again(event: dict) -> None:
        if event["event"] == "validation" and event["epoch"] == 1:
            for item in open_source(tmp_path / "p").val:  # the person paints the validation images all "blob"
                project.save_mask(int(item.key), np.ones_like(truth[int(item.key)]))
        if event["event"] == "validation" and event["epoch"] == 2:
            shutil.copyfile(out, kept_copy)  # the kept model, before this epoch may replace it

    first, second = _two_validations(tmp_path, correct_again)
    assert first["val_images"] == second["val_images"] == 2
    expected = _score_now(tmp_path, kept_copy)
    project.close()
    assert expected != pytest.approx(first["mean_iu"], abs=1e-3)  # the new labels do score differently
    assert second["best_mean_iu"] == pytest.approx(expected, abs=1e-9)


def test_an_epoch_that_would_end_in_a_batch_of_one_small_crop_still_trains(tmp_path):
    """13 images in batches of 4 left one sample whose 32 x 32 crop is 1 x 1 at stride 32, and batch
    norm cannot train on that: the run failed (seen when a 16th image was labelled during keep learning)."""
    project, _, _ = easy_project(tmp_path, 16, 16)
    project.close()
    seen = _train(tmp_path, EventWriter(), epochs=1)
    started = next(e for e in seen if e["event"] == "started")
    assert started["train_images"] % 4 == 1  # the case itself
    assert any(e["event"] == "finished" for e in seen)
