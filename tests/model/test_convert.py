import numpy as np
import pytest
import torch
import torchvision

from fcn_studio.core.labels import LabelSet
from fcn_studio.inference.predictor import Predictor
from fcn_studio.model.checkpoint import load_checkpoint, save_checkpoint
from fcn_studio.model.convert import ConversionError, convert_file, detect_torchvision_backbone
from tests.conftest import smooth_image
from tests.model.caffe_port_reference import (
    CROP_OFFSETS,
    PortFCN,
    caffe_input,
    crop_offsets_from_geometry,
    randomise_scores_,
)


def _port_checkpoint(tmp_path, variant, fc=64, n_class=21, at_once=False, wrap=False):
    torch.manual_seed(0)
    port = PortFCN(variant, n_class=n_class, fc=fc, at_once=at_once).eval()
    randomise_scores_(port, std=0.02 if not at_once else 2.0)
    path = tmp_path / f"{variant}.pth"
    sd = port.state_dict()
    torch.save({"state_dict": sd, "epoch": 3} if wrap else sd, path)
    return port, path


@pytest.mark.parametrize("variant", ["fcn32s", "fcn16s", "fcn8s"])
def test_the_references_crop_offsets_follow_from_the_layer_geometry(variant):
    assert crop_offsets_from_geometry(variant) == CROP_OFFSETS[variant]


def _assert_same_logits(got: torch.Tensor, ref: torch.Tensor) -> None:
    assert got.shape == ref.shape
    assert torch.allclose(got, ref, rtol=1e-4, atol=1e-4 * ref.abs().max().item()), (got - ref).abs().max()


@pytest.mark.parametrize("variant", ["fcn32s", "fcn16s", "fcn8s"])
def test_converted_port_gives_the_ports_scores(tmp_path, variant):
    port, path = _port_checkpoint(tmp_path, variant, wrap=variant == "fcn16s")
    model, info, report = convert_file(path)
    assert info.config.arch == variant and info.config.alignment == "classic"
    assert info.input.channel_order == "BGR" and info.labels.names[15] == "person"
    assert variant.upper() in report
    image = smooth_image(75, 101)
    with torch.no_grad():
        ref = port(caffe_input(image))
    predictor = Predictor(model, info.input, device="cpu", precision="float32")
    _assert_same_logits(predictor.logits(image[None]), ref)
    assert (predictor.predict(image).labels == ref.argmax(1)[0].numpy()).mean() > 0.999


@pytest.mark.slow
def test_full_size_fcn8s_round_trips_through_our_format(tmp_path):
    """The real widths (fc6/fc7 4096): convert, save as safetensors, load, compare to the port."""
    port, path = _port_checkpoint(tmp_path, "fcn8s", fc=4096)
    model, info, _ = convert_file(path)
    out = tmp_path / "fcn8s.safetensors"
    save_checkpoint(out, model, info)
    loaded, info2 = load_checkpoint(out)
    assert info2.config.fc_channels == 4096
    image = smooth_image(64, 80)
    with torch.no_grad():
        ref = port(caffe_input(image))
    got = Predictor(loaded, info2.input, device="cpu", precision="float32").logits(image[None])
    assert torch.allclose(got, ref, rtol=1e-3, atol=1e-3 * ref.abs().max().item())
    assert (got.argmax(1) == ref.argmax(1)).float().mean() > 0.999


def test_at_once_variant_scales_the_skips_exactly_as_the_release(tmp_path):
    """voc-fcn8s-atonce scales pool4 by 0.01 and pool3 by 0.0001 before scoring them."""
    port, path = _port_checkpoint(tmp_path, "fcn8s", at_once=True)
    model, info, report = convert_file(path, at_once=True)
    assert (info.config.pool4_scale, info.config.pool3_scale) == (0.01, 0.0001) and "at-once" in report
    image = smooth_image(40, 48)
    with torch.no_grad():
        ref = port(caffe_input(image))
    _assert_same_logits(Predictor(model, info.input, device="cpu", precision="float32").logits(image[None]), ref)
    _, path16 = _port_checkpoint(tmp_path, "fcn16s")
    _, info16, report16 = convert_file(path16, at_once=True)  # the release has no at-once FCN-16s
    assert (info16.config.pool4_scale, info16.config.pool3_scale) == (1.0, 1.0) and "at-once" not in report16


def test_class_count_and_label_file(tmp_path):
    _, path = _port_checkpoint(tmp_path, "fcn32s", n_class=3)
    _, info, _ = convert_file(path)
    assert info.labels.names == ("class_0", "class_1", "class_2")
    _, info, _ = convert_file(path, labels=LabelSet(("sky", "road", "car")))
    assert info.labels.names[2] == "car"
    with pytest.raises(ConversionError, match="3 classes"):
        convert_file(path, labels=LabelSet.voc())


@pytest.mark.parametrize("name", ["resnet18", "resnet34", "resnet50", "mobilenet_v2", "mobilenet_v3_large",
                                  "mobilenet_v3_small", "vgg16"])
def test_torchvision_classification_weights_become_the_encoder(tmp_path, name):
    torch.manual_seed(0)
    tv = getattr(torchvision.models, name)(weights=None)
    path = tmp_path / f"{name}.pth"
    torch.save(tv.state_dict(), path)
    assert detect_torchvision_backbone(tv.state_dict()) == name
    model, info, report = convert_file(path)
    assert info.config.backbone == name and info.config.alignment == "fast"
    ours = model.backbone.state_dict()
    some = next(k for k in ours if k.endswith("weight") and "fc" not in k)
    assert torch.equal(ours[some], tv.state_dict()[some])
    if name == "vgg16":
        assert torch.equal(ours["fc6.weight"].flatten(1), tv.state_dict()["classifier.0.weight"])
    assert "loaded" in report


def test_torchvision_segmentation_model_gives_its_encoder_to_a_paper_fcn(tmp_path):
    seg = torchvision.models.segmentation.fcn_resnet50(weights=None, weights_backbone=None, num_classes=21)
    path = tmp_path / "fcn_resnet50.pth"
    torch.save(seg.state_dict(), path)
    model, info, report = convert_file(path, arch="fcn8s")  # without arch: the whole model (test_dilated_fcn)
    assert info.config.backbone == "resnet50"
    assert torch.equal(model.backbone.layer4[0].conv1.weight, seg.backbone.layer4[0].conv1.weight)


def test_something_else_is_refused_clearly(tmp_path):
    path = tmp_path / "other.pth"
    torch.save({"linear.weight": torch.zeros(2, 2)}, path)
    with pytest.raises(ConversionError, match="not a checkpoint we can convert"):
        convert_file(path)


def test_converted_model_reproduces_after_saving(tmp_path):
    _, path = _port_checkpoint(tmp_path, "fcn8s")
    model, info, _ = convert_file(path)
    out = tmp_path / "ours.safetensors"
    save_checkpoint(out, model, info)
    loaded, _ = load_checkpoint(out)
    image = smooth_image(33, 47)
    a = Predictor(model, info.input, device="cpu", precision="float32").predict(image)
    b = Predictor(loaded, info.input, device="cpu", precision="float32").predict(image)
    assert np.array_equal(a.labels, b.labels)
