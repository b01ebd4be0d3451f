"""Batch-norm statistics recomputed before validation and saving: eval mode describes the model as
trained, so a short from-scratch run on a few images predicts what it learned, not only background."""

import pytest
import torch
from torch import nn

from fcn_studio.model.checkpoint import load_checkpoint
from fcn_studio.model.input_spec import normalise_batch
from fcn_studio.training.batchnorm import batchnorm_batches, recompute_batchnorm
from fcn_studio.training.config import TrainConfig
from fcn_studio.training.data import SegmentationDataset, open_source
from fcn_studio.training.events import EventWriter
from fcn_studio.training.trainer import run
from tests.training.conftest import write_easy_voc


def small_net(momentum=0.01):
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4, momentum=momentum), nn.ReLU(),
                         nn.Conv2d(4, 2, 1), nn.BatchNorm2d(2, momentum=momentum))


def test_statistics_become_the_average_over_the_batches_and_the_mode_is_restored():
    torch.manual_seed(0)
    net = small_net().eval()
    batches = [torch.randn(2, 3, 8, 8) * 3 + 5 for _ in range(3)]
    assert recompute_batchnorm(net, batches) == 3
    assert not net.training
    conv_out = [net[0](x) for x in batches]
    expected_mean = torch.stack([o.mean((0, 2, 3)) for o in conv_out]).mean(0)
    expected_var = torch.stack([o.var((0, 2, 3), unbiased=True) for o in conv_out]).mean(0)
    torch.testing.assert_close(net[1].running_mean, expected_mean, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(net[1].running_var, expected_var, rtol=1e-4, atol=1e-4)
    assert net[1].momentum == 0.01  # the layer's own momentum is kept for training


def test_no_batches_leave_the_model_exactly_as_it_was():
    net = small_net().train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    assert recompute_batchnorm(net, []) == 0
    assert net.training
    for k, v in net.state_dict().items():
        assert torch.equal(v, before[k]), k


def test_an_interrupted_recompute_keeps_the_old_statistics():
    net = small_net()
    before = {k: v.clone() for k, v in net.state_dict().items()}

    def batches():
        yield torch.randn(2, 3, 8, 8) + 10
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        recompute_batchnorm(net, batches())
    for k in ("1.running_mean", "1.running_var"):
        assert torch.equal(net.state_dict()[k], before[k])


def test_measuring_costs_a_fifth_of_an_epoch_at_least_two_batches_at_most_eight():
    assert [batchnorm_batches(n) for n in (1, 5, 10, 11, 40, 1000)] == [2, 2, 2, 3, 8, 8]


def test_a_short_run_from_scratch_predicts_what_it_learned_not_only_background(tmp_path):
    """MobileNetV3 keeps running averages with momentum 0.01: after a short run they still describe the
    random network, and its eval-mode predictions were all background (the sample project's complaint)."""
    voc = write_easy_voc(tmp_path / "voc", count=8, size=64)
    out = tmp_path / "m.safetensors"
    torch.manual_seed(0)
    run(TrainConfig(source=voc, out=out, backbone="mobilenet_v3_small", weights=None, crop=48, batch_size=4,
                    lr=0.01, device="cpu", iterations=60, val_fraction=0.25), EventWriter(None))
    model, info = load_checkpoint(tmp_path / "m.last.safetensors")
    source = open_source(voc, 0.25)
    data = SegmentationDataset(source.train, source.labels, info.input, None)
    found = total = 0
    with torch.inference_mode():
        for i in range(len(data)):
            image, mask = data[i]
            pred = model(normalise_batch(image[None], info.input, torch.device("cpu"))).argmax(1)[0]
            found += int((pred[mask == 1] == 1).sum())
            total += int((mask == 1).sum())
    assert found / total > 0.5, f"only {found / total:.0%} of the blob pixels of training images predicted as blob"
