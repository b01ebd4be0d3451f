"""`eval` reproduces published numbers: it runs float32 unless asked otherwise and says which precision
it used. On a real VOC photo (from labelme's examples), a converted FCN-8s scores the PyTorch port's
own label maps exactly."""

import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from fcn_studio.cli import main
from fcn_studio.inference.precision import cpu_has_fast_bfloat16
from tests.model.caffe_port_reference import PortFCN, caffe_input, randomise_scores_
from tests.real_data import labelme_examples

PHOTO = "2011_000003.jpg"


@pytest.fixture(autouse=True)
def no_setting(monkeypatch):
    monkeypatch.delenv("FCN_STUDIO_PRECISION", raising=False)


@pytest.fixture(scope="module")
def port_and_truth(tmp_path_factory):
    """A converted port (fc6/fc7 narrowed to stay quick) and, as the masks, the port's own label map."""
    tmp = tmp_path_factory.mktemp("eval")
    torch.manual_seed(0)
    port = PortFCN("fcn8s", fc=64).eval()
    randomise_scores_(port, std=0.02)
    torch.save(port.state_dict(), tmp / "port.pth")
    assert main(["model", "convert", str(tmp / "port.pth"), str(tmp / "fcn8s.safetensors")]) == 0
    (tmp / "images").mkdir()
    (tmp / "masks").mkdir()
    photo = labelme_examples() / "semantic_segmentation" / "data_dataset_voc" / "JPEGImages" / PHOTO
    shutil.copy(photo, tmp / "images" / PHOTO)
    with torch.no_grad():
        truth = port(caffe_input(np.asarray(Image.open(photo).convert("RGB")))).argmax(1)[0].numpy()
    Image.fromarray(truth.astype(np.uint8), mode="L").save(tmp / "masks" / PHOTO.replace(".jpg", ".png"))
    assert len(np.unique(truth)) > 3
    return tmp


def evaluate(tmp, capsys, *extra):
    assert main(["eval", "--model", str(tmp / "fcn8s.safetensors"), "--images", str(tmp / "images"), "--masks",
                 str(tmp / "masks"), "--device", "cpu", "--json", str(tmp / "scores.json"), *extra]) == 0
    return capsys.readouterr().out, json.loads((tmp / "scores.json").read_text())


def test_eval_runs_float32_says_so_and_scores_the_ports_label_maps_exactly(port_and_truth, capsys):
    out, scores = evaluate(port_and_truth, capsys)
    assert out.splitlines()[0].startswith("precision: float32 (eval's default")
    assert scores["precision"] == "float32" and scores["pixel_accuracy"] == 1.0 and scores["mean_iu"] == 1.0


@pytest.mark.skipif(not cpu_has_fast_bfloat16(), reason="this CPU has neither AVX512-BF16 nor AMX")
def test_eval_runs_low_precision_only_when_asked_and_says_so(port_and_truth, capsys):
    out, scores = evaluate(port_and_truth, capsys, "--precision", "auto")
    assert out.splitlines()[0].startswith("precision: bfloat16 (chosen for vgg16")
    assert scores["precision"] == "bfloat16" and 0.99 < scores["pixel_accuracy"] < 1.0
