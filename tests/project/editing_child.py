"""Run by the crash test as a separate process: edits masks and records them as the app does (journal
at once, PNG 0.3 s later), logging each finished stroke after it is recorded, until it is killed; says
"ready" on stdout after READY strokes, then each next stroke's number, so the test kills it mid-work
after a random count of them, without polling the log or sleeping.
`strokes(seed)` is shared with the test, which replays the same strokes to know every state each mask
may be in."""

import os
import sys
import time

import numpy as np

from fcn_studio.core.editing.mask_editor import MaskEditor
from fcn_studio.core.editing.tools import Stroke

SHAPE = (600, 800)
READY = 20


def strokes(seed: int, image_ids: list[int]):
    """An endless, deterministic sequence of (image id, value, diameter, points)."""
    rng = np.random.default_rng(seed)
    k = 0
    while True:
        n = int(rng.integers(2, 6))
        points = [(float(rng.uniform(0, SHAPE[1])), float(rng.uniform(0, SHAPE[0]))) for _ in range(n)]
        yield image_ids[k % len(image_ids)], int(rng.integers(0, 5)), int(rng.integers(5, 80)), points
        k += 1


def apply(editor: MaskEditor, value: int, diameter: int, points) -> None:
    stroke = Stroke(editor, value, diameter)
    for x, y in points:
        stroke.to(x, y)
    stroke.finish()


def main(root: str, log_path: str, seed: int) -> None:
    from fcn_studio.project.autosave import AutoSaver
    from fcn_studio.project.project import Project

    project = Project.open(root)
    ids = [r.id for r in project.images()]
    saver = AutoSaver(project, delay=0.3)  # the app's delay: the journal is what makes a stroke safe
    editors = {i: MaskEditor(np.zeros(SHAPE, np.uint8)) for i in ids}
    with open(log_path, "a", buffering=1) as log:
        for k, (image_id, value, diameter, points) in enumerate(strokes(seed, ids)):
            ed = editors[image_id]
            apply(ed, value, diameter, points)
            saver.record(image_id, ed.mask, ed.version, ed.take_touched())
            log.write(f"{k} {image_id} {time.time():.6f}\n")
            os.fsync(log.fileno())
            if k + 1 == READY:
                print("ready", flush=True)
            elif k + 1 > READY:
                print(k, flush=True)  # the test kills after a number of these: a moment it cannot foresee


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
