"""`fcn-studio bench --checkpoint`: time to first mask in fresh processes next to the PyTorch port,
at a tiny size (the figures themselves are the benchmark's business, not the tests')."""

import pytest
import torch
from PIL import Image

from fcn_studio.cli import main
from fcn_studio.inference.port_baseline import PortFCN8s
from fcn_studio.inference.precision import cpu_has_fast_bfloat16
from fcn_studio.model.checkpoint import save_checkpoint
from fcn_studio.model.factory import new_model
from tests.conftest import smooth_image
from tests.model.caffe_port_reference import randomise_scores_


def test_bench_checkpoint_times_first_masks_against_the_port(tmp_path, capsys):
    model, info, _ = new_model("fcn8s", "vgg16", None, weights=None, alignment="classic", fc_channels=16)
    randomise_scores_(model, std=0.05)
    ckpt = tmp_path / "vgg.safetensors"
    save_checkpoint(ckpt, model, info)
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(3):
        Image.fromarray(smooth_image(40, 56)).rotate(90 * i).save(photos / f"p{i}.png")
    assert main(["bench", "--checkpoint", str(ckpt), "--images", "2", "--image-dir", str(photos),
                 "--repeat", "1", "--device", "cpu"]) == 0
    text = capsys.readouterr().out
    assert "40x56 images" in text and "PyTorch port FCN-8s, 2 forwards only" in text
    assert "fcn-studio predict, float32" in text
    if cpu_has_fast_bfloat16():
        assert "fcn-studio predict, bfloat16" in text and "% of pixels agree (2 images)" in text
    else:
        assert "bfloat16 not run: this CPU has neither AVX512-BF16 nor AMX" in text


def test_a_bad_checkpoint_fails_in_one_line_before_any_timing(tmp_path, capsys):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a model")
    assert main(["bench", "--checkpoint", str(bad), "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"fcn-studio: error: {bad}: ") and err.count("\n") == 1


@pytest.mark.parametrize("size", [(64, 64), (45, 71)])
def test_the_port_yardstick_gives_a_mask_of_the_image_size(size):
    with torch.no_grad():
        assert PortFCN8s(3).eval()(torch.rand(1, 3, *size)).shape == (1, 3, *size)
