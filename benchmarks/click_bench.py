"""Clicks to an object: simulates a person with the standard protocol (fcn_studio.core.clicks: the first
click at the point of the object farthest from its border, each next one in the middle of the largest
error, at most 20) over every connected region of at least 16 pixels of every class but the background,
and reports NoC@85 and NoC@90 (mean clicks to reach 85% / 90% IoU), the share of objects that never reach
85%, and milliseconds per answer, for each method in the same run:

- grabcut: the Smart box tool as it is today (a box drawn tight around the object: two clicks).

    python benchmarks/click_bench.py --images DIR --masks DIR [--classes FILE] [--json OUT]
    python benchmarks/click_bench.py --microscopy      # the 16 nuclei tiles of loop_bench.py
    python benchmarks/click_bench.py --sample 16       # the sample project's images

The click model (issue 22) is not in the app yet: `shipped` and `learned` are reported as null."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loop_bench import data_from_args, pairs  # noqa: E402 (beside this script)

from fcn_studio.core.clicks import ClickRun, iou, objects, summary  # noqa: E402
from fcn_studio.core.editing.grabcut import grabcut_region  # noqa: E402
from fcn_studio.core.image_io import load_image  # noqa: E402
from fcn_studio.core.mask_io import read_mask  # noqa: E402

METHODS = ("grabcut", "shipped", "learned")


def grabcut_box(image: np.ndarray, truth: np.ndarray) -> ClickRun:
    """The Smart box: the person drags the object's bounding box (two clicks), GrabCut answers once."""
    ys, xs = np.nonzero(truth)
    start = time.perf_counter()
    try:
        (y0, x0, y1, x1), footprint = grabcut_region(image, (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1))
        selection = np.zeros(truth.shape, bool)
        selection[y0:y1, x0:x1] = footprint
    except ValueError:  # smaller than GrabCut's 3 x 3 box
        selection = np.zeros(truth.shape, bool)
    return ClickRun(ious=[0.0, iou(truth, selection)], seconds=[time.perf_counter() - start])


def run(data: list[tuple[Path, Path]], methods: list[str]) -> dict:
    results: dict[str, dict | None] = {m: None for m in METHODS}
    runs: dict[str, list[ClickRun]] = {m: [] for m in methods}
    count = 0
    for image_path, mask_path in data:
        image = load_image(image_path)
        mask = read_mask(mask_path, image.shape[:2])
        for _cls, truth in objects(mask):
            count += 1
            if "grabcut" in runs:
                runs["grabcut"].append(grabcut_box(image, truth))
    for method, found in runs.items():
        if method == "grabcut":
            results[method] = summary(found)
    return {"images": len(data), "objects": count, **results}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", type=Path)
    ap.add_argument("--masks", type=Path)
    ap.add_argument("--classes", type=Path, help="class names (only their count matters here)")
    ap.add_argument("--sample", type=int, help="use N generated images (the sample project's) instead")
    ap.add_argument("--microscopy", action="store_true", help="the 16 nuclei tiles of loop_bench.py")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="click-bench-") as tmp:
        data_from_args(args, Path(tmp), ap)
        results = run(pairs(args.images, args.masks), ["grabcut"])
    print(f"{results['images']} images, {results['objects']} objects (regions of >= 16 pixels, not background)")
    print(f"{'method':<9} {'NoC@85':>7} {'NoC@90':>7} {'failed@85':>10} {'ms/answer':>10}")
    for method in METHODS:
        r = results[method]
        if r is None:
            print(f"{method:<9} {'(no click model yet)':>36}")
        else:
            print(f"{method:<9} {r['noc85']:>7.2f} {r['noc90']:>7.2f} {r['failed85']:>10.1%} "
                  f"{r['ms_per_click']:>10.1f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
