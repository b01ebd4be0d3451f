"""Run by the label-pyramid crash tests as a separate process: writes strokes to a label pyramid
(`write`: straight to the chunks; `journal`: journalled, flushed every fifth) and prints each stroke's
number once it has finished, until it is killed. `strokes(seed)` is shared with the test."""

import sys

import numpy as np

SHAPE = (3000, 3300)
CELL = 300  # strokes never overlap: stroke k lies in cell k of a 300-pixel grid (chunks are 256)


def strokes(seed: int):
    """An endless, deterministic sequence of (rect, patch), each straddling chunk edges."""
    rng = np.random.default_rng(seed)
    cols = SHAPE[1] // CELL
    k = 0
    while True:
        cy, cx = divmod(k % ((SHAPE[0] // CELL) * cols), cols)
        h, w = int(rng.integers(60, 290)), int(rng.integers(60, 290))
        y0, x0 = cy * CELL + int(rng.integers(0, CELL - h)), cx * CELL + int(rng.integers(0, CELL - w))
        yield (y0, x0, y0 + h, x0 + w), rng.integers(0, 6, (h, w), dtype=np.uint8)
        k += 1


def main(mode: str, root: str, seed: int) -> None:
    from pathlib import Path

    from fcn_studio.project.journal import EditJournal
    from fcn_studio.project.label_pyramid import SLIDE_JOURNALS, LabelPyramid, PyramidEditor

    pyramid = LabelPyramid.open(Path(root) / "masks" / "slide.zarr")
    editor = PyramidEditor(pyramid, EditJournal(Path(root), SLIDE_JOURNALS), 1) if mode == "journal" else None
    for k, (rect, patch) in enumerate(strokes(seed)):
        if editor is None:
            pyramid.write(rect, patch)
        else:
            editor.stroke(rect, patch)
            if k % 5 == 4:
                editor.flush()
        print(k, flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
