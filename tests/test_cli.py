"""The command line end to end, on a tiny model and generated images, as a user would run it."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from fcn_studio.cli import main
from fcn_studio.core.mask_io import read_mask, write_mask
from fcn_studio.model.checkpoint import load_checkpoint, save_checkpoint
from tests.conftest import smooth_image
from tests.model.caffe_port_reference import PortFCN, randomise_scores_


@pytest.fixture
def tiny_model(tmp_path):
    path = tmp_path / "tiny.safetensors"
    assert main(["model", "new", "--backbone", "mobilenet_v3_small", "--weights", "none", "--out", str(path)]) == 0
    model, info = load_checkpoint(path)
    randomise_scores_(model, std=0.05)
    save_checkpoint(path, model, info)
    return path


@pytest.fixture
def image_folder(tmp_path):
    root = tmp_path / "images"
    (root / "sub").mkdir(parents=True)
    Image.fromarray(smooth_image(48, 64)).save(root / "a.jpg")
    Image.fromarray(smooth_image(30, 31)).convert("L").save(root / "sub" / "b.png")
    Image.fromarray(smooth_image(40, 40)).save(root / "sub" / "a.png")  # same stem as a.jpg, other folder
    return root


def test_predict_writes_one_palette_png_per_image_and_survives_a_bad_file(tmp_path, tiny_model, image_folder,
                                                                          capsys):
    (image_folder / "broken.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    out = tmp_path / "out"
    code = main(["predict", str(image_folder), "--model", str(tiny_model), "--out", str(out), "--overlay",
                 "--confidence", "--device", "cpu"])
    captured = capsys.readouterr()
    assert code == 1  # something failed, and the exit status says so
    assert "broken.jpg" in captured.err and "3 written" in captured.out
    for rel, shape in (("a.png", (48, 64)), ("sub/b.png", (30, 31)), ("sub/a.png", (40, 40))):
        with Image.open(out / rel) as img:
            assert img.mode == "P" and img.getpalette()[3:6] == [128, 0, 0]
        assert read_mask(out / rel).shape == shape
    assert (out / "a_overlay.jpg").is_file() and (out / "a_confidence.png").is_file()


def test_predict_exit_status_is_zero_when_all_went_well(tmp_path, tiny_model, image_folder):
    out = tmp_path / "out"
    assert main(["predict", str(image_folder / "a.jpg"), "--model", str(tiny_model), "--out", str(out)]) == 0
    assert (out / "a.png").is_file()


def test_eval_prints_the_paper_metrics_and_writes_json(tmp_path, tiny_model, image_folder, capsys):
    pred_dir = tmp_path / "pred"
    main(["predict", str(image_folder), "--model", str(tiny_model), "--out", str(pred_dir)])
    masks = tmp_path / "masks"
    # truth = the model's own prediction, with a block ignored, so every score must be 1
    for rel in ("a.png", "sub/b.png", "sub/a.png"):
        m = read_mask(pred_dir / rel)
        m[:5, :5] = 255
        write_mask(masks / rel, m)
    out_json = tmp_path / "scores.json"
    capsys.readouterr()
    code = main(["eval", "--model", str(tiny_model), "--images", str(image_folder), "--masks", str(masks),
                 "--json", str(out_json), "--device", "cpu"])
    text = capsys.readouterr().out
    assert code == 0 and "mean IU" in text and "frequency weighted IU" in text and "100.00" in text
    data = json.loads(out_json.read_text())
    assert data["mean_iu"] == 1.0 and data["pixel_accuracy"] == 1.0 and data["images"] == 3
    assert data["pixels"] == 48 * 64 + 30 * 31 + 40 * 40 - 3 * 25


def test_eval_reports_a_wrong_size_mask_and_goes_on(tmp_path, tiny_model, image_folder, capsys):
    masks = tmp_path / "masks"
    write_mask(masks / "a.png", np.zeros((48, 64), np.uint8))
    write_mask(masks / "sub" / "b.png", np.zeros((10, 10), np.uint8))
    code = main(["eval", "--model", str(tiny_model), "--images", str(image_folder), "--masks", str(masks)])
    err = capsys.readouterr().err
    assert code == 0 and "b.png" in err and "10x10" in err and "no mask" in err


def test_model_convert_and_info(tmp_path, capsys):
    torch.manual_seed(0)
    port = PortFCN("fcn8s", n_class=21, fc=32)
    src = tmp_path / "fcn8s_from_caffe.pth"
    torch.save(port.state_dict(), src)
    dst = tmp_path / "fcn8s.safetensors"
    assert main(["model", "convert", str(src), str(dst)]) == 0
    assert main(["model", "info", str(dst)]) == 0
    text = capsys.readouterr().out
    assert "fcn8s on vgg16, classic alignment" in text and "BGR" in text and "person" in text
    assert main(["model", "info", str(dst), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["model"]["fc_channels"] == 32


def test_errors_are_one_clear_line_and_a_nonzero_status(tmp_path, capsys):
    bogus = tmp_path / "bogus.safetensors"
    bogus.write_bytes(b"\x80\x04 pickle-ish")
    assert main(["model", "info", str(bogus)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fcn-studio: error:") and "bogus.safetensors" in err and "pickle" in err
    with pytest.raises(SystemExit) as exit_info:
        main(["model", "new", "--backbone", "alexnet", "--out", str(tmp_path / "x.safetensors")])
    assert exit_info.value.code == 2 and "invalid choice: 'alexnet'" in capsys.readouterr().err


def test_bench_prints_a_table_with_the_baseline(capsys):
    assert main(["bench", "--size", "64", "--repeat", "1", "--device", "cpu",
                 "--models", "fcn8s-mobilenet_v3_small-fast", "torchvision-fcn_resnet50"]) == 0
    text = capsys.readouterr().out
    assert "matmul peak" in text and "fcn8s-mobilenet_v3_small-fast" in text and "torchvision-fcn_resnet50" in text


def test_module_entry_point_and_console_script_agree(tmp_path):
    run = subprocess.run([sys.executable, "-m", "fcn_studio", "--help"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "predict" in run.stdout and "bench" in run.stdout
    run = subprocess.run([sys.executable, "-m", "fcn_studio", "model", "new", "--backbone", "mobilenet_v3_small",
                          "--weights", "none", "--classes", "voc", "--out", str(tmp_path / "m.safetensors")],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "m.safetensors").is_file()


def test_model_new_takes_a_file_of_class_names(tmp_path, capsys):
    names = tmp_path / "classes.txt"
    names.write_text("background\nweed\ncrop\n")
    out = tmp_path / "m.safetensors"
    assert main(["model", "new", "--arch", "fcn16s", "--backbone", "resnet18", "--classes", str(names),
                 "--weights", "none", "--out", str(out)]) == 0
    model, info = load_checkpoint(out)
    assert info.labels.names == ("background", "weed", "crop") and model.score_fr.out_channels == 3
    assert info.config.arch == "fcn16s"
