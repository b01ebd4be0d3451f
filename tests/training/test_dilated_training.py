"""Fine-tuning torchvision's dilated-ResNet FCN: the auxiliary head's loss joins the main one at 0.5, a
real step lowers the loss, `fcn-studio train` writes a checkpoint that `predict` and `eval` use, and the
paper's staged recipes refuse it in one line."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from fcn_studio.cli import main
from fcn_studio.core.mask_io import read_mask
from fcn_studio.model.checkpoint import load_checkpoint
from fcn_studio.model.dilated_fcn import DilatedFCNConfig
from fcn_studio.model.factory import new_model
from fcn_studio.model.input_spec import normalise_batch
from fcn_studio.training.losses import AUX_LOSS_WEIGHT, network_loss, segmentation_loss
from tests.training.conftest import EASY


def easy_batch(voc, count: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    images = sorted((voc / "JPEGImages").iterdir())[:count]
    x = np.stack([np.asarray(Image.open(p).convert("RGB")) for p in images])
    y = np.stack([read_mask(voc / "SegmentationClass" / p.name) for p in images])
    return torch.from_numpy(x), torch.from_numpy(y).long()


def test_one_step_with_the_aux_head_lowers_the_loss(easy_voc):
    torch.manual_seed(0)
    net, info, _ = new_model("fcn_resnet50", labels=EASY, weights=None, with_aux=True)
    images, masks = easy_batch(easy_voc)
    x = normalise_batch(images, info.input, torch.device("cpu"))
    net.train()

    def loss_now() -> torch.Tensor:
        torch.manual_seed(1)  # the same dropout masks before and after the step
        return network_loss(net(x), masks, EASY.ignore_index)

    torch.manual_seed(1)
    logits, aux = net(x)
    main_loss, aux_loss = (segmentation_loss(t, masks, EASY.ignore_index) for t in (logits, aux))
    before = loss_now()
    assert torch.allclose(before, main_loss + AUX_LOSS_WEIGHT * aux_loss) and AUX_LOSS_WEIGHT == 0.5
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01)
    optimizer.zero_grad()
    before.backward()
    assert net.aux_classifier[4].weight.grad.abs().sum() > 0  # the aux head learns too
    optimizer.step()
    with torch.no_grad():
        after = loss_now()
    assert after < before


def test_train_cli_writes_a_checkpoint_that_predict_and_eval_use(easy_voc, tmp_path, capsys):
    out = tmp_path / "dilated.safetensors"
    assert main(["train", str(easy_voc), "--arch", "fcn_resnet50", "--aux-head", "--weights", "none",
                 "--iterations", "2", "--crop", "48", "--batch-size", "2", "--device", "cpu",
                 "--out", str(out)]) == 0
    model, info = load_checkpoint(out)
    assert info.config == DilatedFCNConfig("fcn_resnet50", 2, with_aux=True)
    assert info.provenance["iterations"] == 2
    pred = tmp_path / "pred"
    assert main(["predict", str(easy_voc / "JPEGImages"), "--model", str(out), "--out", str(pred),
                 "--device", "cpu"]) == 0
    written = sorted(pred.glob("*.png"))
    assert len(written) == 8 and read_mask(written[0]).shape == (64, 64)
    capsys.readouterr()
    assert main(["eval", "--model", str(out), "--images", str(easy_voc / "JPEGImages"), "--masks",
                 str(easy_voc / "SegmentationClass"), "--device", "cpu"]) == 0
    assert "mean IU" in capsys.readouterr().out


@pytest.mark.parametrize("recipe", ["paper", "paper-at-once"])
def test_the_papers_recipes_refuse_a_new_dilated_fcn_in_one_line(easy_voc, tmp_path, capsys, recipe):
    out = tmp_path / "x.safetensors"
    assert main(["train", str(easy_voc), "--arch", "fcn_resnet50", "--recipe", recipe, "--weights", "none",
                 "--iterations", "1", "--device", "cpu", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "fcn_resnet50 is a dilated-ResNet FCN" in err and "--recipe interactive" in err
    assert not out.exists()


def test_another_backbone_for_a_dilated_fcn_is_a_usage_error(easy_voc, tmp_path, capsys):
    assert main(["train", str(easy_voc), "--arch", "fcn_resnet101", "--backbone", "resnet18", "--weights", "none",
                 "--out", str(tmp_path / "x.safetensors")]) == 2
    assert "its backbone is resnet101, not resnet18; leave out --backbone" in capsys.readouterr().err
