"""A random encoder normalises each image by itself (GroupNorm); a pretrained one keeps the BatchNorm its
weights were trained with. With GroupNorm an image's prediction is the same in training and prediction
and whatever else is in the batch: there are no running averages to lag the weights (the sample project's
"only background after training" complaint) and no batch statistics a lone image cannot have."""

import pytest
import torch
from torch import nn

from fcn_studio.core.labels import LabelSet
from fcn_studio.model.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from fcn_studio.model.factory import new_model
from fcn_studio.model.fcn import FCNConfig
from fcn_studio.model_choices import BACKBONES
from tests.model.conftest import deep_sort_mobilenet_v2

LABELS = LabelSet(("background", "a", "b"))


def _norm_layers(model: nn.Module, kind: type) -> int:
    return sum(isinstance(m, kind) for m in model.backbone.modules())


@pytest.mark.parametrize("backbone", BACKBONES)
def test_a_random_encoder_predicts_each_image_alike_in_training_and_in_any_batch(backbone):
    extra = {"fc_channels": 64} if backbone == "vgg16" else {}
    model, info, note = new_model("fcn8s", backbone, LABELS, weights=None, **extra)
    assert info.config.norm == "group" and "GroupNorm" in note
    assert _norm_layers(model, nn.modules.batchnorm._BatchNorm) == 0 and _norm_layers(model, nn.GroupNorm) > 0
    torch.manual_seed(0)
    with torch.no_grad():  # scores start at zero: make them depend on the features
        for name in ("score_fr", "score_pool4", "score_pool3"):
            getattr(model, name).weight.normal_(0, 0.1)
    a, b = torch.rand(1, 3, 64, 96), torch.rand(1, 3, 64, 96) * 3
    with torch.no_grad():
        alone = model.eval()(a)
        model.train()
        for m in model.modules():
            if isinstance(m, nn.Dropout):  # VGG16's fc6/fc7 dropout is not normalisation
                m.eval()
        trained_together = model(torch.cat([a, b]))[:1]
    torch.testing.assert_close(trained_together, alone, rtol=1e-3, atol=1e-4)


def test_a_pretrained_encoder_keeps_its_batchnorm():
    model, info, _ = new_model("fcn8s", "mobilenet_v2", LABELS, weights=deep_sort_mobilenet_v2())
    assert info.config.norm == "batch" and info.provenance["encoder_tensors_loaded"] == 312
    assert _norm_layers(model, nn.BatchNorm2d) > 0 and _norm_layers(model, nn.GroupNorm) == 0


def test_imagenet_weights_that_are_not_here_give_a_groupnorm_encoder(empty_model_caches):
    model, info, note = new_model("fcn8s", "resnet18", LABELS)  # weights="imagenet", none cached
    assert info.config.norm == "group" and info.provenance["encoder_tensors_loaded"] == 0
    assert "random" in note and _norm_layers(model, nn.GroupNorm) > 0


def test_the_normalisation_travels_with_the_checkpoint_and_old_ones_mean_batchnorm(tmp_path):
    model, info, _ = new_model("fcn8s", "resnet18", LABELS, weights=None)
    save_checkpoint(tmp_path / "m.safetensors", model, info)
    loaded, loaded_info = load_checkpoint(tmp_path / "m.safetensors")
    assert loaded_info.config.norm == "group" and _norm_layers(loaded, nn.GroupNorm) > 0
    assert FCNConfig.from_dict({"arch": "fcn8s", "backbone": "resnet18", "num_classes": 3}).norm == "batch"
    with pytest.raises(ValueError, match="unknown normalisation 'layer'"):
        FCNConfig(norm="layer")


def test_a_checkpoint_whose_tensors_do_not_fit_its_normalisation_is_refused(tmp_path):
    model, info, _ = new_model("fcn8s", "resnet18", LABELS, weights=None, norm="batch")
    info.config = FCNConfig(**{**info.config.to_dict(), "norm": "group"})  # says group, holds BatchNorm tensors
    save_checkpoint(tmp_path / "m.safetensors", model, info)
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path / "m.safetensors")


def test_a_random_vgg16_has_narrower_fully_connected_layers_unless_asked(empty_model_caches):
    """4096 channels exist to hold ImageNet's fc weights; from scratch they more than halve the steps."""
    for weights in (None, "imagenet"):  # "imagenet" with nothing cached: random after all
        _, info, _ = new_model("fcn8s", "vgg16", LABELS, weights=weights)
        assert info.config.fc_channels == 1024 and info.config.norm == "group"
    _, info, _ = new_model("fcn8s", "vgg16", LABELS, weights=None, fc_channels=64)
    assert info.config.fc_channels == 64
