"""On a CPU a heavier encoder trains on fewer crops per step, so that a few minutes are enough steps to
learn from (VGG16 at 8 crops: about 10 s a step on two cores, 15 steps in a 3-minute run)."""

import pytest

from fcn_studio.model_choices import BACKBONES
from fcn_studio.training.config import TrainConfig
from fcn_studio.training.events import EventWriter
from fcn_studio.training.recipes import cpu_batch_size
from fcn_studio.training.trainer import run


def test_the_batch_shrinks_with_the_encoders_cost_down_to_two():
    sizes = {b: cpu_batch_size(8, "fcn8s", b) for b in BACKBONES}
    assert sizes == {"mobilenet_v3_small": 8, "mobilenet_v3_large": 8, "mobilenet_v2": 8, "resnet18": 8,
                     "resnet34": 4, "resnet50": 4, "vgg16": 2}
    assert cpu_batch_size(8, "fcn_resnet101", "resnet101") == 2
    assert cpu_batch_size(1, "fcn8s", "vgg16") == 1  # never more than the recipe asks


@pytest.mark.parametrize(("asked", "expected"), [(None, 4), (6, 6)])
def test_a_cpu_run_reports_the_batch_it_trains_with_and_an_asked_one_wins(tmp_path, easy_voc, asked, expected):
    events = []
    writer = EventWriter(None)
    writer.listeners.append(events.append)
    run(TrainConfig(source=easy_voc, out=tmp_path / "m.safetensors", backbone="resnet50", weights=None, device="cpu",
                    iterations=1, batch_size=asked, crop=64), writer)
    started = next(e for e in events if e["event"] == "started")
    assert started["batch_size"] == expected
