"""The comparison after a run: the new model and the one in use, on the project's validation images,
by the same evaluation as training's validation, on the device the person chose, and the new model's
own validation score used rather than computed a second time. Real training, real checkpoints; the
forward passes are counted with a real forward hook."""

from contextlib import contextmanager
from dataclasses import replace

import numpy as np
import pytest
import torch

from fcn_studio.inference.device import pick_device
from fcn_studio.inference.evaluate import validation_fingerprint
from fcn_studio.inference.precision import cpu_has_fast_bfloat16
from fcn_studio.model.checkpoint import load_checkpoint, read_info, save_checkpoint
from fcn_studio.model.fcn import FCN
from fcn_studio.project.project import Project
from fcn_studio.training.compare import compare_with_in_use
from fcn_studio.training.config import TrainConfig
from fcn_studio.training.data import project_source
from fcn_studio.training.events import EventWriter
from fcn_studio.training.trainer import run
from tests.training.conftest import easy_project


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A project of 10 labelled images (2 validate), a model one short run made (`new`) and the same
    weights saved without the run's record (`stripped`: a model that came from elsewhere)."""
    tmp = tmp_path_factory.mktemp("compare")
    project, _, truth = easy_project(tmp, 10, 10)
    project.close()
    root = tmp / "p"
    new = root / "models" / "new.safetensors"
    events, seen = EventWriter(), []
    events.listeners.append(seen.append)
    run(TrainConfig(source=root, out=new, backbone="resnet18", weights=None, crop=32, batch_size=4, lr=0.01,
                    device="cpu", epochs=1), events)
    model, info = load_checkpoint(new)
    stripped = tmp / "stripped.safetensors"
    save_checkpoint(stripped, model, replace(info, provenance={**info.provenance, "metrics": {}}))
    validation = next(e for e in seen if e["event"] == "validation")
    return {"root": root, "new": new, "stripped": stripped, "validation": validation, "truth": truth}


@contextmanager
def forward_passes():
    """The device of each whole-network forward pass, from a real global forward hook."""
    seen: list[str] = []

    def hook(module, args, _output):
        if isinstance(module, FCN):
            seen.append(args[0].device.type)

    handle = torch.nn.modules.module.register_module_forward_hook(hook)
    try:
        yield seen
    finally:
        handle.remove()


def test_the_run_records_its_score_with_what_it_was_computed_on(trained):
    metrics = read_info(trained["new"]).provenance["metrics"]
    val = project_source(trained["root"]).val
    assert metrics["mean_iu"] == trained["validation"]["mean_iu"] and len(val) == 10
    # 2 whole validation images and the held-out regions of the 8 that train, and how many pixels that was
    assert (metrics["val_images"], metrics["val_regions"]) == (2, 8) and metrics["val_pixels"] > 0
    assert metrics["val_fingerprint"] == validation_fingerprint((it.name, it.image, it.mask) for it in val)


def test_the_comparison_runs_on_the_device_asked_for(trained):
    root, model = trained["root"], trained["stripped"]
    with forward_passes() as seen:
        c = compare_with_in_use(model, None, root, "cpu")
    assert c.device == "cpu" and seen == ["cpu"] * 10 and c.images == 10
    automatic = pick_device(None).type  # None: CUDA, then MPS, then the CPU
    with forward_passes() as seen:
        c = compare_with_in_use(model, None, root, None)
    assert c.device.startswith(automatic) and seen == [automatic] * 10
    if torch.cuda.is_available():
        with forward_passes() as seen:
            c = compare_with_in_use(model, None, root, "cuda")
        assert c.device.startswith("cuda") and seen == ["cuda"] * 10
    else:  # the device asked for is the one used, never quietly the CPU
        with pytest.raises(ValueError, match="CUDA is not available"):
            compare_with_in_use(model, None, root, "cuda")


def test_training_validation_and_the_comparison_give_one_number(trained, monkeypatch):
    """The same weights, once with the run's record and once without: the model scored here gets
    exactly the number training's validation gave, even for a person who predicts in low precision."""
    if cpu_has_fast_bfloat16():
        monkeypatch.setenv("FCN_STUDIO_PRECISION", "bfloat16")
    c = compare_with_in_use(trained["new"], trained["stripped"], trained["root"], "cpu")
    assert c.evaluated == (trained["stripped"],)
    assert c.in_use_mean_iu == c.new_mean_iu == trained["validation"]["mean_iu"]
    assert not c.better  # a tie keeps the model in use


def test_the_new_model_is_not_evaluated_again_while_its_record_holds(trained):
    root, new, in_use = trained["root"], trained["new"], trained["stripped"]
    with forward_passes() as seen:
        c = compare_with_in_use(new, in_use, root, "cpu")
    assert len(seen) == 10 and c.evaluated == (in_use,)  # the model in use alone, once per validation image
    assert c.new_mean_iu == read_info(new).provenance["metrics"]["mean_iu"]
    assert c.image_ids == tuple(it.key for it in project_source(root).val) and c.images == 10
    assert c.measured_on == "2 whole images + held-out regions of 8 images"
    # A validation mask corrected since the run: its score no longer speaks for these labels.
    image_id = int(c.image_ids[0])
    project = Project.open(root)
    mask = project.mask_path(image_id)
    original = mask.read_bytes()
    try:
        project.save_mask(image_id, np.ones_like(trained["truth"][image_id]))
        with forward_passes() as seen:
            again = compare_with_in_use(new, in_use, root, "cpu")
        assert len(seen) == 20 and set(again.evaluated) == {new, in_use} and again.fingerprint != c.fingerprint
        assert again.new_mean_iu == again.in_use_mean_iu != c.new_mean_iu
    finally:
        project.save_mask(image_id, trained["truth"][image_id])
        project.close()
    assert mask.read_bytes() == original  # as the other tests found it
