"""`fcn-studio predict` over a folder, in one process and under torchrun on two CPU processes (gloo):
the same files, byte for byte, and one summary."""

import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from fcn_studio.cli import main
from fcn_studio.model.checkpoint import load_checkpoint, save_checkpoint
from tests.conftest import smooth_image
from tests.model.caffe_port_reference import randomise_scores_


@pytest.fixture
def setup(tmp_path):
    model = tmp_path / "tiny.safetensors"
    assert main(["model", "new", "--backbone", "mobilenet_v3_small", "--weights", "none", "--out", str(model)]) == 0
    net, info = load_checkpoint(model)
    randomise_scores_(net, std=0.05)
    save_checkpoint(model, net, info)
    images = tmp_path / "images"
    (images / "sub").mkdir(parents=True)
    for i in range(5):
        Image.fromarray(np.roll(smooth_image(36, 44), 7 * i, axis=0)).save(images / f"p{i}.png")
    Image.fromarray(smooth_image(20, 30)).save(images / "sub" / "small.jpg")
    (images / "sub" / "broken.png").write_bytes(b"\x89PNG not really")
    return model, images


def _files(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_torchrun_on_two_processes_writes_what_one_process_writes(tmp_path, setup):
    model, images = setup
    args = ["predict", str(images), "--model", str(model), "--device", "cpu", "--confidence"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    one = subprocess.run([sys.executable, "-m", "fcn_studio", *args, "--out", str(tmp_path / "one")],
                         capture_output=True, text=True, timeout=300, env=env)
    two = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                          "-m", "fcn_studio", *args, "--out", str(tmp_path / "two")],
                         capture_output=True, text=True, timeout=300, env=env)
    assert one.returncode == 1 and "6 written" in one.stdout, one.stderr  # 1: the broken file
    # every rank exits 1 (the broken file is counted on all of them), so torchrun adds its own
    # report (with its own traceback) after what the ranks said; the ranks said one line each
    assert two.returncode == 1, two.stderr
    ours = two.stderr.split("torch/distributed/elastic")[0]
    assert ours.count("broken.png") == 1 and "Traceback" not in ours, two.stderr
    assert two.stdout.count("written") == 1 and "6 written" in two.stdout and "1 failed" in two.stdout
    expected = _files(tmp_path / "one")
    assert len(expected) == 12 and _files(tmp_path / "two") == expected
