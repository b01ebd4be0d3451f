"""The precision a prediction runs in: chosen in one place, switchable by the user (--precision,
FCN_STUDIO_PRECISION), bfloat16 on the CPU only where the CPU has it, and float32 left exactly as it was."""

import numpy as np
import pytest
import torch
from PIL import Image

from fcn_studio.cli.entry import main
from fcn_studio.inference.precision import choose_precision, cpu_has_fast_bfloat16, parse_precision
from fcn_studio.inference.predictor import Predictor
from fcn_studio.model.checkpoint import save_checkpoint
from fcn_studio.model.factory import new_model
from fcn_studio.model.fcn import build_fcn
from fcn_studio.model.input_spec import IMAGENET, normalise_batch
from tests.conftest import smooth_image
from tests.model.caffe_port_reference import randomise_scores_

CPU, CUDA, MPS = torch.device("cpu"), torch.device("cuda"), torch.device("mps")
needs_bf16 = pytest.mark.skipif(not cpu_has_fast_bfloat16(), reason="this CPU has neither AVX512-BF16 nor AMX")


@pytest.fixture(autouse=True)
def no_setting(monkeypatch):
    monkeypatch.delenv("FCN_STUDIO_PRECISION", raising=False)


def _vgg(classes=5):
    torch.manual_seed(0)
    model = build_fcn("fcn8s", "vgg16", num_classes=classes, alignment="classic", fc_channels=64)
    randomise_scores_(model, std=0.05)
    return model.eval()


def test_auto_is_float16_on_gpus_and_bfloat16_on_a_capable_cpu_for_vgg16_only():
    assert choose_precision("auto", CUDA, "resnet18") == choose_precision(None, MPS, "vgg16") == "float16"
    assert choose_precision("auto", CPU, "vgg16") == ("bfloat16" if cpu_has_fast_bfloat16() else "float32")
    for backbone in ("resnet18", "mobilenet_v3_large", None):
        assert choose_precision("auto", CPU, backbone) == "float32"


def test_names_and_aliases():
    assert [parse_precision(t) for t in ("FP32", "bf16", "fp16", "half", " float32 ")] == \
        ["float32", "bfloat16", "float16", "float16", "float32"]
    with pytest.raises(ValueError, match="unknown precision 'fp17'; use auto, float32, bfloat16 or float16"):
        parse_precision("fp17")


def test_the_setting_switches_auto_off_and_an_explicit_choice_wins(monkeypatch):
    monkeypatch.setenv("FCN_STUDIO_PRECISION", "float32")
    assert choose_precision("auto", CPU, "vgg16") == choose_precision(None, CUDA, "vgg16") == "float32"
    assert choose_precision("float16", CUDA, "vgg16") == "float16"
    monkeypatch.setenv("FCN_STUDIO_PRECISION", "fast please")
    with pytest.raises(ValueError, match=r"^FCN_STUDIO_PRECISION='fast please': unknown precision"):
        choose_precision(None, CPU, "vgg16")


def test_float16_on_the_cpu_is_refused_in_one_line():
    with pytest.raises(ValueError, match="float16 runs on GPUs; on the CPU use bfloat16"):
        choose_precision("float16", CPU, "vgg16")


@pytest.mark.skipif(cpu_has_fast_bfloat16(), reason="this CPU has bfloat16, so asking for it is fine")
def test_bfloat16_on_a_cpu_without_it_is_refused():
    with pytest.raises(ValueError, match="neither AVX512-BF16 nor AMX"):
        choose_precision("bfloat16", CPU, "vgg16")


def test_the_float32_path_is_the_plain_model():
    """float32 runs no autocast at all: the predictor's scores are the model's own, bit for bit."""
    model = _vgg()
    image = smooth_image(96, 120)
    predictor = Predictor(model, IMAGENET, device="cpu", precision="float32", channels_last=False)
    assert predictor.precision == "float32"
    got = predictor.logits(image[None])
    with torch.inference_mode():
        want = model(normalise_batch(torch.from_numpy(image[None].copy()), IMAGENET, CPU).contiguous())
    assert torch.equal(got, want)


@needs_bf16
def test_bfloat16_label_maps_agree_with_float32_and_the_head_stays_float32():
    image = smooth_image(160, 200)
    fp32 = Predictor(_vgg(), IMAGENET, device="cpu", precision="float32").predict(image)
    bf16 = Predictor(_vgg(), IMAGENET, device="cpu", precision="bfloat16")
    assert bf16.precision == "bfloat16"
    assert (bf16.predict(image).labels == fp32.labels).mean() >= 0.99
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        assert _vgg()(torch.rand(1, 3, 64, 64)).dtype == torch.float32  # the score head ran in float32


def test_predict_command_takes_the_switch(tmp_path):
    model, info, _ = new_model("fcn8s", "vgg16", None, weights=None, alignment="classic", fc_channels=32)
    randomise_scores_(model, std=0.05)
    ckpt = tmp_path / "vgg.safetensors"
    save_checkpoint(ckpt, model, info)
    Image.fromarray(smooth_image(90, 110)).save(tmp_path / "a.png")
    outs = {}
    for precision in ("float32", "bfloat16" if cpu_has_fast_bfloat16() else "fp32"):
        out = tmp_path / precision
        assert main(["predict", str(tmp_path / "a.png"), "--model", str(ckpt), "--out", str(out),
                     "--device", "cpu", "--precision", precision]) == 0
        outs[precision] = np.asarray(Image.open(out / "a.png"))
    first, last = outs.values()
    assert (first == last).mean() >= 0.99


def test_predict_says_once_what_its_automatic_choice_was(tmp_path, capsys):
    model, info, _ = new_model("fcn8s", "vgg16", None, weights=None, alignment="classic", fc_channels=32)
    save_checkpoint(tmp_path / "vgg.safetensors", model, info)
    for name in ("a", "b", "c"):
        Image.fromarray(smooth_image(40, 50)).save(tmp_path / f"{name}.png")
    assert main(["predict", str(tmp_path), "--model", str(tmp_path / "vgg.safetensors"), "--out",
                 str(tmp_path / "out"), "--device", "cpu"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("precision:")]
    expected = ("precision: bfloat16 (chosen for vgg16 on this CPU's bfloat16 hardware" if cpu_has_fast_bfloat16()
                else "precision: float32 (on cpu)")
    assert len(lines) == 1 and lines[0].startswith(expected)


def test_a_bad_precision_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as caught:
        main(["predict", str(tmp_path), "--model", "m.safetensors", "--out", str(tmp_path / "o"),
              "--precision", "fp17"])
    err = capsys.readouterr().err
    assert caught.value.code == 2 and "unknown precision 'fp17'" in err and err.count("\n") == 1
