"""Keep learning, with the real backend process on a tiny project: better models are published as
numbered versions and offered for use, new corrections join while it runs, small data is said and never
swapped in, pinning holds the model, stopping keeps the state and starting again resumes."""

import numpy as np

from fcn_studio.model.checkpoint import load_checkpoint
from fcn_studio.project.model_versions import versions
from fcn_studio.project.project import Project
from fcn_studio.training.keep_learning import NO_VALIDATION_YET, KeepLearning, ModelVersion
from tests.training.conftest import KEEP_ARGS as TINY
from tests.training.conftest import easy_project, wait_for


def test_better_models_are_published_offered_and_the_loop_resumes_after_a_stop(tmp_path):
    project, _, _ = easy_project(tmp_path, 10, 10)
    project.close()
    loop = KeepLearning(tmp_path / "p", train_args=TINY)
    published, offered, events = [], [], []
    loop.published.connect(published.append)
    loop.use.connect(offered.append)
    loop.backend_event.connect(events.append)
    loop.start()
    try:
        assert wait_for(loop, lambda: len(published) >= 1), f"nothing published; status: {loop.status}"
    finally:
        assert loop.stop()  # it stopped by itself between steps
    first = published[0]
    assert first.version == 1 and first.mean_iu >= 0 and first.val_images == 2 and first.trained_images == 8
    model, info = load_checkpoint(first.path)
    assert info.config.backbone == "resnet18"
    assert offered[: len(published)] == published  # each improvement is offered for use
    project = Project.open(tmp_path / "p")  # the versions are in the project's one model history
    assert [v.version for v in versions(project)] == [v.version for v in published]
    assert [r["note"] for r in project.model_runs()][::-1][: len(published)] == [f"keep learning v{v.version}"
                                                                                for v in published]
    project.close()
    assert not (tmp_path / "p" / "models" / "keep" / "history.json").exists()
    assert (tmp_path / "p" / "models" / "keep" / "current.resume.safetensors").is_file()
    last_saved = max(e["iteration"] for e in events if e["event"] == "checkpoint")

    again = KeepLearning(tmp_path / "p", train_args=TINY)  # the project opened again
    assert [v.version for v in again.history] == [v.version for v in published]
    started = []
    again.backend_event.connect(lambda e: started.append(e) if e["event"] == "started" else None)
    again.start()
    try:
        assert wait_for(again, lambda: bool(started))
    finally:
        again.stop()
    assert started[0]["start_iteration"] == last_saved > 0  # resumed from the last epoch's checkpoint


def test_before_any_whole_image_validates_versions_are_scored_on_held_out_regions(tmp_path):
    """Three corrected images (no whole validation image before the fifth): a version is scored on the
    regions each keeps away from training, swapped in, and says what it was measured on."""
    project, _, _ = easy_project(tmp_path, 6, 3)
    project.close()
    loop = KeepLearning(tmp_path / "p", train_args=TINY)
    validations, offered = [], []
    loop.backend_event.connect(lambda e: validations.append(e) if e["event"] == "validation" else None)
    loop.use.connect(offered.append)
    loop.start()
    try:
        assert wait_for(loop, lambda: len(offered) >= 1), f"nothing offered; status: {loop.status}"
    finally:
        loop.stop()
    assert all(v["val_images"] == 0 and v["val_regions"] == 3 and v["val_pixels"] > 0 for v in validations)
    first = offered[0]
    assert (first.val_images, first.val_regions) == (0, 3) and loop.status != NO_VALIDATION_YET
    assert first.describe().endswith(f"measured on held-out regions of 3 images ({first.val_pixels:,} pixels)")


def test_new_corrections_join_while_it_learns_and_a_pinned_model_is_never_replaced(tmp_path):
    project, recs, truth = easy_project(tmp_path, 16, 10)
    loop = KeepLearning(tmp_path / "p", train_args=TINY)
    validations, offered, published = [], [], []
    loop.backend_event.connect(lambda e: validations.append(e) if e["event"] == "validation" else None)
    loop.use.connect(offered.append)
    loop.published.connect(published.append)
    loop.start()
    try:
        assert wait_for(loop, lambda: len(published) >= 1), f"nothing published; status: {loop.status}"
        loop.pin(True)
        offered_before = len(offered)
        for rec in recs[10:]:  # the person goes on correcting
            project.save_mask(rec.id, np.asarray(truth[rec.id]))
        assert wait_for(loop, lambda: any(v["train_images"] + v["val_images"] == 16 for v in validations))
        chosen = loop.rollback(1)
    finally:
        loop.stop()
        project.close()
    assert len(offered) == offered_before + 1 and offered[-1] is chosen  # only the rollback was offered
    assert chosen.version == 1 and loop.pinned


def test_a_version_reads_better_than_the_one_it_replaced_even_when_two_decimals_agree():
    def version(now, was):
        return ModelVersion(7, "v7.safetensors", 23, 5, now, was, 0.0, 18, 4321)

    assert version(0.81, 0.77).describe() == ("v7, trained on 23 images, validation mean IU 0.81, was 0.77 for the "
                                              "model it replaced, both measured on 5 whole images + held-out regions "
                                              "of 18 images (4,321 pixels)")
    assert "mean IU 0.623, was 0.618 for" in version(0.623, 0.618).describe()  # not "0.62, was 0.62"
    assert "mean IU 0.50 measured on 5 whole" in version(0.5, None).describe()
    assert version(0.623, 0.618).brief() == "v7  0.623 (was 0.618) on 23 images"


def test_switched_on_before_any_correction_it_waits_ready_and_learns_from_the_first(tmp_path):
    """Keep learning switched on in a new project: the backend starts at once (imports, model) and waits;
    the first saved correction is learned from and scored on its own held-out regions."""
    project, recs, truth = easy_project(tmp_path, 6, 0)
    loop = KeepLearning(tmp_path / "p", train_args=TINY)
    offered, statuses = [], []
    loop.use.connect(offered.append)
    loop.status_changed.connect(statuses.append)
    loop.start()
    try:
        assert not wait_for(loop, lambda: loop.status != "starting", timeout=3.0)  # waiting for a label, not failed
        assert loop.running
        project.save_mask(recs[0].id, np.asarray(truth[recs[0].id]))  # the first correction
        assert wait_for(loop, lambda: len(offered) >= 1), f"nothing offered; status: {loop.status}"
    finally:
        loop.stop()
        project.close()
    assert offered[0].trained_images == 1 and offered[0].val_regions == 1
    assert not any(s.startswith("learning stopped") for s in statuses)
