"""Training precision: bfloat16 autocast on a CPU that has it, for the backbones measured to learn as
well and faster; float16 on GPUs; FCN_STUDIO_PRECISION=float32 turns it off; the paper recipe stays
float32."""

import pytest
import torch

from fcn_studio.inference.precision import cpu_has_fast_bfloat16, training_precision
from fcn_studio.training.config import TrainConfig
from fcn_studio.training.events import EventWriter
from fcn_studio.training.trainer import run
from tests.training.conftest import write_easy_voc

CPU = torch.device("cpu")
needs_bf16 = pytest.mark.skipif(not cpu_has_fast_bfloat16(), reason="this CPU has neither AVX512-BF16 nor AMX")


@pytest.fixture(autouse=True)
def no_setting(monkeypatch):
    monkeypatch.delenv("FCN_STUDIO_PRECISION", raising=False)


def test_gpus_train_in_float16_and_unmeasured_backbones_in_float32():
    assert training_precision(torch.device("cuda"), "resnet18") == "float16"
    assert training_precision(CPU, "resnet18") == "float32"  # bf16 was slower for it


def test_the_switch_turns_low_precision_off_for_training_too(monkeypatch):
    monkeypatch.setenv("FCN_STUDIO_PRECISION", "float32")
    assert training_precision(CPU, "mobilenet_v2") == "float32"
    assert training_precision(torch.device("cuda"), "mobilenet_v2") == "float32"


def _train(tmp_path, recipe="interactive"):
    voc = write_easy_voc(tmp_path / "voc", count=6)
    seen = []
    events = EventWriter()
    events.listeners.append(seen.append)
    extra = {"crop": 48, "batch_size": 4} if recipe == "interactive" else {}
    run(TrainConfig(source=voc, out=tmp_path / "m.safetensors", backbone="mobilenet_v2", weights=None, lr=0.01,
                    device="cpu", iterations=4, recipe=recipe, **extra), events)
    return seen


@needs_bf16
def test_a_capable_cpu_trains_mobilenet_v2_in_bfloat16_and_saves_float32_weights(tmp_path):
    from fcn_studio.model.checkpoint import load_checkpoint  # noqa: PLC0415

    seen = _train(tmp_path)
    started = next(e for e in seen if e["event"] == "started")
    assert started["precision"] == "bfloat16"
    assert torch.isfinite(torch.tensor([e["loss"] for e in seen if e["event"] == "progress"])).all()
    model, _ = load_checkpoint(tmp_path / "m.safetensors")
    assert all(p.dtype == torch.float32 for p in model.parameters())


def test_the_paper_recipe_trains_in_float32(tmp_path):
    seen = _train(tmp_path, recipe="paper")
    assert all(e["precision"] == "float32" for e in seen if e["event"] == "started")
