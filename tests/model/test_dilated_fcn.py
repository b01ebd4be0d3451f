"""torchvision's fcn_resnet50/101 as an architecture of ours: the same logits as torchvision's own model
from the same weights, checkpoints that round-trip, `model convert` of a torchvision state dict, and
`model get` of a catalogue entry through a real HTTP server on the loopback."""

from __future__ import annotations

import hashlib
import json
import shutil

import numpy as np
import pytest
import torch
import torchvision
from torch import nn

from fcn_studio.cli import main
from fcn_studio.core.labels import LabelSet
from fcn_studio.inference.predictor import Predictor
from fcn_studio.model.checkpoint import load_checkpoint, read_info, save_checkpoint
from fcn_studio.model.convert import ConversionError, convert_file
from fcn_studio.model.dilated_fcn import DilatedFCNConfig, DilatedResNetFCN
from fcn_studio.model.factory import new_model
from fcn_studio.model.fcn import FCNConfig
from fcn_studio.model.input_spec import IMAGENET, normalise_batch
from fcn_studio.model.network import config_from_dict, has_aux_head
from tests.conftest import smooth_image
from tests.model.loopback import Route, use_catalogue
from tests.model.test_download import cache, model, server  # noqa: F401 (fixtures)


def random_torchvision_fcn(arch: str = "fcn_resnet50", aux: bool = True, seed: int = 0) -> nn.Module:
    """torchvision's own model with random weights and batch-norm statistics, so labels vary per pixel."""
    torch.manual_seed(seed)
    net = getattr(torchvision.models.segmentation, arch)(weights=None, weights_backbone=None, num_classes=21,
                                                         aux_loss=aux)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
        net.classifier[4].weight.normal_(0, 0.5)
        net.classifier[4].bias.zero_()
    return net.eval()


@pytest.fixture(scope="module")
def torchvision_file(tmp_path_factory):
    """A state dict in the layout of torchvision's released fcn_resnet50_coco file (aux head included),
    written with torch.save as torchvision writes it; returns (path, torchvision's model)."""
    net = random_torchvision_fcn()
    path = tmp_path_factory.mktemp("tv") / "fcn_resnet50_coco-1167a1af.pth"
    torch.save(net.state_dict(), path)
    yield path, net
    shutil.rmtree(path.parent, ignore_errors=True)  # 140 MB, not kept for the rest of the run


def logits_of(net: nn.Module, image: np.ndarray) -> torch.Tensor:
    x = normalise_batch(torch.from_numpy(image)[None], IMAGENET, torch.device("cpu")).contiguous()
    with torch.inference_mode():
        out = net(x)
    return out["out"] if isinstance(out, dict) else out


def test_logits_equal_torchvisions_model_on_the_same_weights(torchvision_file):
    _, tv = torchvision_file
    ours = DilatedResNetFCN(DilatedFCNConfig("fcn_resnet50", 21, with_aux=True))
    assert list(ours.state_dict()) == list(tv.state_dict())  # torchvision's keys, in its order
    ours.load_state_dict(tv.state_dict())
    ours.eval()
    image = smooth_image(67, 83)
    a, b = logits_of(ours, image), logits_of(tv, image)
    assert a.shape == (1, 21, 67, 83)
    assert (a - b).abs().max().item() == 0.0
    labels = a.argmax(1)
    assert torch.equal(labels, b.argmax(1)) and labels.unique().numel() > 1  # a real comparison, not one class


def test_resnet101_has_torchvisions_keys_and_no_aux_head_unless_asked():
    ours = DilatedResNetFCN(DilatedFCNConfig("fcn_resnet101", 5))
    tv = torchvision.models.segmentation.fcn_resnet101(weights=None, weights_backbone=None, num_classes=5)
    assert list(ours.state_dict()) == list(tv.state_dict())
    assert not has_aux_head(ours) and not any(k.startswith("aux_classifier") for k in ours.state_dict())


def test_training_mode_returns_the_aux_logits_only_with_an_aux_head():
    x = torch.rand(2, 3, 40, 56)
    with_aux = DilatedResNetFCN(DilatedFCNConfig(with_aux=True)).train()
    logits, aux = with_aux(x)
    assert logits.shape == aux.shape == (2, 21, 40, 56)
    without = DilatedResNetFCN(DilatedFCNConfig(with_aux=False)).train()
    assert without(x).shape == (2, 21, 40, 56)
    assert with_aux.eval()(x).shape == (2, 21, 40, 56)  # predicting never returns the aux output


def test_configs_check_their_fields_and_the_paper_fcn_refuses_a_dilated_arch():
    with pytest.raises(ValueError, match="unknown FCN architecture 'fcn_resnet50'"):
        FCNConfig(arch="fcn_resnet50")
    with pytest.raises(ValueError, match="built on resnet50, not 'resnet18'"):
        config_from_dict({"arch": "fcn_resnet50", "backbone": "resnet18", "num_classes": 21})
    with pytest.raises(ValueError, match="its backbone is resnet101"):
        new_model("fcn_resnet101", "mobilenet_v2", weights=None)
    with pytest.raises(ValueError, match="aux"):
        new_model("fcn8s", "resnet18", weights=None, with_aux=True)
    assert config_from_dict({"arch": "fcn8s", "backbone": "resnet18"}) == FCNConfig("fcn8s", "resnet18")


def test_checkpoint_round_trip_keeps_every_tensor_and_the_config(tmp_path, torchvision_file):
    _, tv = torchvision_file
    labels = LabelSet.voc()
    net, info, _ = new_model("fcn_resnet50", labels=labels, weights=None, with_aux=True)
    net.load_state_dict(tv.state_dict())
    path = tmp_path / "dilated.safetensors"
    save_checkpoint(path, net, info)
    assert read_info(path).config == DilatedFCNConfig("fcn_resnet50", 21, with_aux=True)
    loaded, loaded_info = load_checkpoint(path)
    assert isinstance(loaded, DilatedResNetFCN) and loaded_info.labels == labels
    for key, value in tv.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    image = smooth_image(50, 61)
    assert torch.equal(logits_of(loaded, image), logits_of(tv, image))


def test_model_convert_turns_torchvisions_file_into_a_checkpoint_with_vocs_labels(tmp_path, torchvision_file,
                                                                                   capsys):
    src, tv = torchvision_file
    dst = tmp_path / "fcn_resnet50.safetensors"
    assert main(["model", "convert", str(src), str(dst)]) == 0
    assert "not FCN-8s" in capsys.readouterr().out
    model_, info = load_checkpoint(dst)
    assert info.config == DilatedFCNConfig("fcn_resnet50", 21, with_aux=True)
    assert info.labels == LabelSet.voc() and info.input == IMAGENET
    image = smooth_image(45, 70)
    assert torch.equal(logits_of(model_, image), logits_of(tv, image))
    prediction = Predictor(model_, info.input, device="cpu").predict(image)
    agree = (prediction.labels == logits_of(tv, image).argmax(1)[0].numpy()).mean()
    assert agree >= 0.999  # the predictor's channels-last layout may move a tie by a rounding step
    assert main(["model", "info", str(dst)]) == 0
    assert "dilated-ResNet-50 FCN (torchvision's fcn_resnet50), not FCN-8s, with aux head" in capsys.readouterr().out


def test_arch_fcn8s_takes_only_the_encoder_and_a_wrong_dilated_arch_is_refused(torchvision_file):
    src, tv = torchvision_file
    model_, info, _ = convert_file(src, arch="fcn8s")
    assert info.config.arch == "fcn8s" and info.config.backbone == "resnet50"
    assert torch.equal(model_.backbone.layer4[0].conv1.weight, tv.backbone.layer4[0].conv1.weight)
    with pytest.raises(ConversionError, match="a torchvision fcn_resnet50 state dict, not fcn_resnet101"):
        convert_file(src, arch="fcn_resnet101")


def test_a_state_dict_that_fits_neither_is_one_line(tmp_path, torchvision_file):
    _, tv = torchvision_file
    broken = dict(tv.state_dict())
    broken["classifier.4.weight"] = torch.zeros(21, 256, 1, 1)  # an FCN head of the wrong width
    path = tmp_path / "broken.pth"
    torch.save(broken, path)
    with pytest.raises(ConversionError) as err:
        convert_file(path)
    message = str(err.value)
    assert "\n" not in message and message.startswith(str(path)) and "classifier.4.weight" in message
    other = tmp_path / "other.pth"
    torch.save({"linear.weight": torch.zeros(2, 2)}, other)
    assert main(["model", "convert", str(other), str(tmp_path / "x.safetensors")]) == 2


def test_model_get_converts_and_installs_a_usable_model(server, cache, tmp_path, monkeypatch,  # noqa: F811
                                                        torchvision_file, capsys):
    src, tv = torchvision_file
    data = src.read_bytes()
    server.routes["/models/fcn_resnet50_coco-1167a1af.pth"] = Route(data)
    use_catalogue(tmp_path, monkeypatch, {
        "name": "fcn_resnet50-coco-voc", "description": "dilated-ResNet FCN (torchvision), not FCN-8s",
        "format": "torchvision-segmentation", "arch": "fcn_resnet50", "backbone": "resnet50", "classes": None,
        "input": "imagenet", "file": src.name, "urls": [f"{server.base}/models/{src.name}"], "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(), "licence": "test"})
    assert model("get", "fcn_resnet50-coco-voc") == 0
    out = capsys.readouterr().out
    target = cache / "checkpoints"
    installed = [p for p in target.iterdir() if p.suffix == ".safetensors"]
    assert "checkpoint written to" in out and "not FCN-8s" in out and len(installed) == 1
    model_, info = load_checkpoint(installed[0])
    assert info.config.arch == "fcn_resnet50" and len(info.labels) == 21
    image = smooth_image(40, 52)
    assert torch.equal(logits_of(model_, image), logits_of(tv, image))
    assert model("list", "--json") == 0
    row = next(r for r in json.loads(capsys.readouterr().out) if r["name"] == "fcn_resnet50-coco-voc")
    assert row["installed"] == str(installed[0])
