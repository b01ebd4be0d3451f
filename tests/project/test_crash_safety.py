"""kill -9 at a random moment while a real process edits and autosaves: no mask is ever
half-written, and every stroke finished before the kill (recorded, then logged) is on disk once the
project opens again: the edit journal makes a stroke durable at mouse release."""

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fcn_studio.core.editing.mask_editor import MaskEditor
from fcn_studio.core.mask_io import read_mask
from fcn_studio.project.project import Project
from tests.project.editing_child import SHAPE, apply, strokes

ROOT = Path(__file__).resolve().parents[2]


def _digest(mask: np.ndarray) -> str:
    return hashlib.sha1(mask.tobytes()).hexdigest()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kill_minus_nine_loses_no_finished_stroke(tmp_path, seed):
    (tmp_path / "img").mkdir()
    for i in range(3):
        Image.new("RGB", SHAPE[::-1]).save(tmp_path / "img" / f"{i}.png")
    project = Project.create(tmp_path / "p")
    project.add_images([tmp_path / "img"])
    ids = [r.id for r in project.images()]
    project.close()
    log = tmp_path / "strokes.log"
    child = subprocess.Popen([sys.executable, "-m", "tests.project.editing_child", str(tmp_path / "p"), str(log),
                              str(seed)], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "ready", "the editing process died by itself"  # READY strokes done
    for _ in range(random.Random(seed).randint(300, 1500)):  # 0.5-2 s of strokes, journals and saves
        assert child.stdout.readline(), "the editing process died by itself"
    child.send_signal(signal.SIGKILL)
    killed_at = time.time()
    child.wait()
    child.stdout.close()

    finished = [line.split() for line in log.read_text().splitlines() if line.count(" ") == 2]
    assert len(finished) > 20
    # Replay the same strokes: every state each mask went through, in order.
    editors = {i: MaskEditor(np.zeros(SHAPE, np.uint8)) for i in ids}
    states = {i: [_digest(editors[i].mask)] for i in ids}  # index 0: before any stroke
    stroke_of = {i: [] for i in ids}  # per image: global stroke numbers, in order
    sequence = strokes(seed, ids)
    for k, line in enumerate(finished):
        image_id, value, diameter, points = next(sequence)
        assert int(line[0]) == k and int(line[1]) == image_id
        apply(editors[image_id], value, diameter, points)
        states[image_id].append(_digest(editors[image_id].mask))
        stroke_of[image_id].append(float(line[2]))
    image_id, value, diameter, points = next(sequence)  # recorded, maybe, but killed before its log line
    apply(editors[image_id], value, diameter, points)
    states[image_id].append(_digest(editors[image_id].mask))

    project = Project.open(tmp_path / "p")
    leftovers = list((project.root / "masks").glob(".*.tmp"))
    for tmp in leftovers:  # a killed save's temporary file: swept once it is old (a fresh one may be in flight)
        os.utime(tmp, (time.time() - 3600, time.time() - 3600))
    assert project._sweep_interrupted_writes() == len(leftovers)
    assert not list((project.root / "masks").glob(".*.tmp"))
    for i in ids:
        must_have = sum(1 for t in stroke_of[i] if t < killed_at)  # every finished stroke
        path = project.mask_path(i)
        if not path.exists():
            assert must_have == 0, f"image {i}: {must_have} finished strokes, no mask on disk"
            continue
        on_disk = read_mask(path, shape=SHAPE)  # a half-written PNG would fail here
        digest = _digest(on_disk)
        assert digest in states[i], f"image {i}: the saved mask is no state the editor was ever in"
        assert states[i].index(digest) >= must_have, (
            f"image {i}: disk has the state after stroke {states[i].index(digest)}, "
            f"but {must_have} strokes had finished before the kill")
