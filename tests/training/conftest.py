import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from fcn_studio.core.labels import LabelSet
from fcn_studio.core.mask_io import read_mask, write_mask

ROOT = Path(__file__).resolve().parents[2]
EASY = LabelSet(("background", "blob"), ((0, 0, 0), (255, 0, 0)))


def write_easy_voc(folder: Path, count: int = 8, size: int = 64) -> Path:
    """A task a tiny net learns in a few dozen steps: a bright blob on a dark textured background."""
    (folder / "JPEGImages").mkdir(parents=True, exist_ok=True)
    for i in range(count):
        rng = np.random.default_rng(i)
        img = rng.integers(0, 60, (size, size, 3)).astype(np.uint8)
        mask = np.zeros((size, size), np.uint8)
        cv2.circle(mask, (int(rng.integers(16, size - 16)), int(rng.integers(16, size - 16))),
                   int(rng.integers(8, 16)), 1, -1)
        img[mask == 1] = (230, 200, 40)
        Image.fromarray(img).save(folder / "JPEGImages" / f"{i:03d}.png")
        write_mask(folder / "SegmentationClass" / f"{i:03d}.png", mask, EASY)
    (folder / "labelmap.txt").write_text("background:0,0,0::\nblob:255,0,0::\n")
    return folder


def easy_project(tmp_path: Path, count: int, labelled: int):
    """A project `p` of `count` easy images, the first `labelled` corrected with their true masks:
    (open project, image records, {image id: true mask})."""
    from fcn_studio.project.project import Project  # noqa: PLC0415

    voc = write_easy_voc(tmp_path / "voc", count=count)
    project = Project.create(tmp_path / "p", EASY)
    project.add_images([voc / "JPEGImages"])
    recs = project.images()
    truth = {r.id: read_mask(voc / "SegmentationClass" / r.name) for r in recs}
    for rec in recs[:labelled]:
        project.save_mask(rec.id, truth[rec.id])
    return project, recs, truth


@pytest.fixture
def easy_voc(tmp_path):
    return write_easy_voc(tmp_path / "voc")


def run_backend(args, timeout=300, env=None, module="fcn_studio.training", launcher=None):
    """The backend as the app runs it: a child process whose stdout is the event stream."""
    cmd = (launcher or [sys.executable, "-m", module]) + [str(a) for a in args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return proc, events


def small_args(voc: Path, out: Path, *extra) -> list:
    return [voc, "--out", out, "--backbone", "resnet18", "--weights", "none", "--crop", "48", "--batch-size", "4",
            "--lr", "0.01", "--device", "cpu", *extra]


# a tiny keep-learning backend: seconds per epoch on a CPU
KEEP_ARGS = ["--backbone", "resnet18", "--weights", "none", "--crop", "32", "--batch-size", "4", "--lr", "0.01",
             "--device", "cpu"]


def wait_for(loop, condition, timeout: float = 180.0) -> bool:
    """Waits until `condition` holds, woken by the keep-learning loop's events (they arrive on its reader
    thread, after the test's own listeners, connected earlier, have recorded them). No polling."""
    news = threading.Condition()

    def poke(*_args) -> None:
        with news:
            news.notify_all()

    events = (loop.backend_event, loop.status_changed, loop.published, loop.use)
    for event in events:
        event.connect(poke)
    try:
        with news:
            return news.wait_for(condition, timeout)
    finally:
        for event in events:
            event.disconnect(poke)
