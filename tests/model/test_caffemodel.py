"""The Caffe release's .caffemodel files, read without Caffe: built here with an independent protobuf
writer (tests/model/caffe_wire.py) from the PyTorch-port reference, converted, and compared with the
same weights converted through the port's .pth path and with the port itself."""

import mmap

import numpy as np
import pytest
import torch

from fcn_studio.cli import main
from fcn_studio.inference.predictor import Predictor
from fcn_studio.model import caffemodel
from fcn_studio.model.caffemodel import CaffeModelError, read_caffemodel
from fcn_studio.model.checkpoint import load_checkpoint
from fcn_studio.model.convert import VGG_CONV_INDEX, ConversionError, convert_file
from fcn_studio.model.input_spec import CAFFE_VGG
from tests.conftest import smooth_image
from tests.model.caffe_port_reference import PortFCN, caffe_input, randomise_scores_
from tests.model.caffe_wire import layer, message, port_caffemodel


def _port(variant="fcn8s", at_once=False, n_class=21):
    torch.manual_seed(0)
    port = PortFCN(variant, n_class=n_class, fc=64, at_once=at_once).eval()
    randomise_scores_(port, std=0.02 if not at_once else 2.0)
    return port


def _write(tmp_path, port, name="net.caffemodel", **encoding):
    path = tmp_path / name
    path.write_bytes(port_caffemodel(port, **encoding))
    return path


@pytest.mark.parametrize("variant", ["fcn32s", "fcn16s", "fcn8s"])
def test_caffemodel_gives_the_same_model_as_the_port(tmp_path, variant):
    port = _port(variant)
    torch.save(port.state_dict(), tmp_path / "port.pth")
    model, info, report = convert_file(_write(tmp_path, port))
    via_port, port_info, _ = convert_file(tmp_path / "port.pth")

    assert info.config == port_info.config and info.config.alignment == "classic"
    assert info.input == CAFFE_VGG and "caffemodel" in info.provenance["source"]
    assert variant.upper() in report
    ours, theirs = model.state_dict(), via_port.state_dict()
    assert ours.keys() == theirs.keys() and all(torch.equal(ours[k], theirs[k]) for k in ours)
    image = smooth_image(37, 51)  # classic alignment: any size; the release's pad 100 makes it 237 x 251
    got = Predictor(model, info.input, device="cpu", precision="float32").logits(image[None])
    with torch.no_grad():
        ref = port(caffe_input(image))
    assert torch.allclose(got, ref, rtol=1e-4, atol=1e-4 * ref.abs().max().item())
    assert (got.argmax(1) == ref.argmax(1)).float().mean() > 0.999


@pytest.mark.parametrize("encoding", [dict(v1=True), dict(legacy=True), dict(packed=False),
                                      dict(v1=True, legacy=True, packed=False)],
                         ids=["v1-layers", "legacy-4d-shapes", "one-tag-per-float", "all-old"])
def test_old_encodings_read_the_same_weights(tmp_path, encoding):
    port = _port("fcn16s")
    modern = read_caffemodel(_write(tmp_path, port, "new.caffemodel"))
    old = read_caffemodel(_write(tmp_path, port, "old.caffemodel", **encoding))
    assert [(la.name, la.type) for la in old] == [(la.name, la.type) for la in modern]
    for a, b in zip(old, modern, strict=True):
        assert len(a.blobs) == len(b.blobs)
        for x, y in zip(a.blobs, b.blobs, strict=True):
            assert np.array_equal(x.reshape(-1), y.reshape(-1))
            assert x.shape == y.shape or (encoding.get("legacy") and x.ndim == 4)
    model, _, _ = convert_file(tmp_path / "old.caffemodel")
    ours = model.state_dict()
    for key, value in port.state_dict().items():
        name, _, kind = key.rpartition(".")
        ours_key = (f"backbone.features.{VGG_CONV_INDEX[name]}.{kind}" if name in VGG_CONV_INDEX
                    else f"backbone.{key}" if name in ("fc6", "fc7") else key)
        assert torch.equal(ours[ours_key], value), key


@pytest.mark.parametrize("packed", [True, False], ids=["packed", "one-tag-per-float"])
def test_deconvolutions_have_no_bias_and_blobs_are_views_of_the_file(tmp_path, packed):
    layers = {la.name: la for la in read_caffemodel(_write(tmp_path, _port("fcn8s"), packed=packed))}
    assert "data" not in layers and "score_pool4c" not in layers  # no blobs: Crop offsets are architecture
    for name in ("upscore2", "upscore_pool4", "upscore8"):
        assert layers[name].type == "Deconvolution" and len(layers[name].blobs) == 1
    assert layers["fc6"].blobs[0].shape == (64, 512, 7, 7) and layers["fc6"].blobs[1].shape == (64,)
    assert all(_maps_the_file(b) for la in layers.values() for b in la.blobs)


def _maps_the_file(array):
    """True when the array is a view of the file's memory map, not a copy of its values."""
    while isinstance(array, np.ndarray):
        array = array.base
    return isinstance(array, memoryview) and isinstance(array.obj, mmap.mmap)


def test_at_once_scales_come_from_the_files_scale_layers(tmp_path):
    port = _port("fcn8s", at_once=True)
    model, info, report = convert_file(_write(tmp_path, port, at_once=True))  # no at_once flag needed
    assert (info.config.pool4_scale, info.config.pool3_scale) == pytest.approx((0.01, 0.0001))
    assert "at-once" in report
    image = smooth_image(29, 35)
    with torch.no_grad():
        expected = port(caffe_input(image)).argmax(1)[0].numpy()
    predictor = Predictor(model, info.input, device="cpu", precision="float32")  # the converter, not bf16
    assert (predictor.predict(image).labels == expected).mean() > 0.999


def test_long_runs_of_one_tag_per_float_are_found_across_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(caffemodel, "RUN_CHUNK", 7)
    values = [np.arange(50, dtype=np.float32).reshape(2, 25), np.arange(14, dtype=np.float32) - 3,
              np.arange(3, dtype=np.float32)]
    path = tmp_path / "runs.caffemodel"
    path.write_bytes(layer("a", "Convolution", values[:2], packed=False) + layer("b", "X", values[2:], packed=False))
    a, b = read_caffemodel(path)
    assert np.array_equal(a.blobs[0], values[0]) and np.array_equal(a.blobs[1], values[1])
    assert np.array_equal(b.blobs[0], values[2])


def test_double_data_is_read_as_float32(tmp_path):
    values = np.linspace(-1, 1, 12)
    encoded = message(8, values.astype("<f8").tobytes()) + message(7, message(1, bytes([3, 4])))
    path = tmp_path / "double.caffemodel"
    path.write_bytes(message(100, message(1, b"d") + message(7, encoded)))
    (d,) = read_caffemodel(path)
    assert d.blobs[0].dtype == np.float32 and np.allclose(d.blobs[0], values.reshape(3, 4))


def test_a_renamed_caffemodel_is_recognised_by_its_content(tmp_path):
    path = _write(tmp_path, _port("fcn32s"), name="weights.bin")
    _, info, _ = convert_file(path)
    assert info.config.arch == "fcn32s"


def _one_line_error(exc_info, path):
    message_ = str(exc_info.value)
    assert str(path) in message_ and "\n" not in message_
    assert isinstance(exc_info.value, ValueError)
    return message_


def test_truncated_file_is_refused_in_one_line(tmp_path):
    full = port_caffemodel(_port("fcn8s"))
    path = tmp_path / "cut.caffemodel"
    path.write_bytes(full[: len(full) * 2 // 3])
    with pytest.raises(CaffeModelError) as exc_info:
        convert_file(path)
    assert "truncated" in _one_line_error(exc_info, path)


@pytest.mark.parametrize("content", [b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, b"hello, this is text\n",
                                     b"PK\x03\x04" + bytes(100), b"\xa2\x06\x03\x0a\x01" + b"\xff" * 40,
                                     b"\x08\x96\x01" * 8, b""],
                         ids=["png", "text", "zip", "garbage-after-a-layer-key", "other-protobuf", "empty"])
def test_not_a_caffemodel_is_refused_in_one_line(tmp_path, content):
    path = tmp_path / "x.caffemodel"
    path.write_bytes(content)
    with pytest.raises(CaffeModelError) as exc_info:
        convert_file(path)
    assert "not a .caffemodel" in _one_line_error(exc_info, path)


def test_a_caffe_net_that_is_not_an_fcn_is_refused(tmp_path):
    path = tmp_path / "lenet.caffemodel"
    path.write_bytes(layer("ip1", "Convolution", [np.ones((4, 1, 5, 5)), np.zeros(4)]))
    with pytest.raises(ConversionError, match="not an FCN of the release"):
        convert_file(path)


def test_weights_that_do_not_fit_the_architecture_are_refused_in_one_line(tmp_path):
    port = _port("fcn32s")
    with torch.no_grad():
        port.conv1_2 = torch.nn.Conv2d(64, 32, 3, padding=1)  # a layer of the wrong width
    path = _write(tmp_path, port)
    with pytest.raises(ConversionError) as exc_info:
        convert_file(path)
    assert "does not fit fcn32s" in _one_line_error(exc_info, path)


def test_cli_converts_a_caffemodel(tmp_path, capsys):
    src, dst = _write(tmp_path, _port("fcn8s")), tmp_path / "fcn8s.safetensors"
    assert main(["model", "convert", str(src), str(dst)]) == 0
    assert "FCN8S" in capsys.readouterr().out
    loaded, info = load_checkpoint(dst)
    assert info.config.arch == "fcn8s" and info.input == CAFFE_VGG
    bad = tmp_path / "bad.caffemodel"
    bad.write_bytes(b"not a model")
    assert main(["model", "convert", str(bad), str(dst)]) == 2
    err = capsys.readouterr().err.strip()
    assert str(bad) in err and "\n" not in err


@pytest.mark.parametrize("cut", [True, False], ids=["truncated", "no-weights"])
def test_a_refused_file_is_unmapped_at_once(tmp_path, monkeypatch, cut):
    """Windows keeps a mapped file locked: after a refusal the user must be able to replace it."""
    maps = []
    real_mmap = mmap.mmap
    monkeypatch.setattr(mmap, "mmap", lambda *args, **kwargs: maps.append(real_mmap(*args, **kwargs)) or maps[-1])
    full = port_caffemodel(_port("fcn32s"))
    path = tmp_path / "refused.caffemodel"
    path.write_bytes(full[: len(full) // 2] if cut else message(1, b"net") + layer("data", "Data"))
    with pytest.raises(CaffeModelError):
        read_caffemodel(path)
    assert len(maps) == 1 and maps[0].closed
