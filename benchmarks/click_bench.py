"""Clicks to an object: simulates a person with the standard protocol (fcn_studio.core.clicks: the first
click at the point of the object farthest from its border, each next one in the middle of the largest
error, at most 20) over every connected region of at least 16 pixels of every class but the background,
and reports NoC@85 and NoC@90 (mean clicks to reach 85% / 90% IoU), the share of objects that never reach
85%, and milliseconds per answer, for each method in the same run:

- grabcut: the Smart box tool as it is today (a box drawn tight around the object: two clicks);
- shipped: the click model as a new user gets it (the machine's start model; made first if missing);
- learned: that model after learning for --learn-seconds (default 600: ten of the click lane's
  one-minute rounds) from the objects of the first half of the images, as the click lane does in the
  app (evaluated on the second half; `shipped_second_half` is the shipped model on the
  same objects, for the comparison);
- one_megapixel: milliseconds from click to answer on a 1000 x 1000 image, the first click (the model
  loaded from its file) and the median of the next ones.

    python benchmarks/click_bench.py --images DIR --masks DIR [--classes FILE] [--json OUT]
    python benchmarks/click_bench.py --microscopy      # the 16 nuclei tiles of loop_bench.py
    python benchmarks/click_bench.py --sample 16       # the sample project's images"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loop_bench import data_from_args, pairs  # noqa: E402 (beside this script)

from fcn_studio.core.clicks import Click, ClickRun, iou, objects, simulate, summary  # noqa: E402
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


def click_runs(net, data: list[tuple[np.ndarray, np.ndarray]]) -> list[ClickRun]:
    from fcn_studio.inference.click_session import ClickSession  # noqa: PLC0415

    runs = []
    for image, mask in data:
        session = ClickSession(net, image)
        for _cls, truth in objects(mask):
            runs.append(simulate(session.answer, truth))
    return runs


def shipped_model(make_seconds: float):
    """The machine's start model, as the app uses it; made here (by the app's own maker) when missing."""
    import threading  # noqa: PLC0415

    from fcn_studio.model.cache import click_start_path  # noqa: PLC0415
    from fcn_studio.model.click_net import load_click_model  # noqa: PLC0415
    from fcn_studio.training.click_lane import make_start_model  # noqa: PLC0415
    from fcn_studio.training.events import EventWriter  # noqa: PLC0415

    path = click_start_path()
    if not path.is_file():
        print(f"making the start click model ({make_seconds:.0f} s of training), as the app does once...")
        path.parent.mkdir(parents=True, exist_ok=True)
        make_start_model(path, make_seconds, None, EventWriter(), threading.Event())
    return path, load_click_model(path)[0]


def learned_model(net, data: list[tuple[np.ndarray, np.ndarray]], seconds: float):
    from fcn_studio.training.click_training import LEARN_LR, samples_from, train  # noqa: PLC0415

    learned = copy.deepcopy(net)
    groups = [g for g in (samples_from([image], [mask]) for image, mask in data) if g]
    steps = train(learned, groups, seconds=seconds, lr=LEARN_LR)
    return learned, steps


def one_megapixel(path: Path) -> dict:
    """Click to answer on a 1000 x 1000 photo: the first click (loading the model file too), then more."""
    from fcn_studio.core.sample_data import sample_image  # noqa: PLC0415
    from fcn_studio.inference.click_session import ClickSession  # noqa: PLC0415
    from fcn_studio.model.click_net import load_click_model  # noqa: PLC0415

    image, mask = sample_image(3, 1000, 1000)
    truth = objects(mask)[0][1]
    start = time.perf_counter()
    session = ClickSession(load_click_model(path)[0], image)
    selection = session.answer([Click(*np.argwhere(truth)[len(np.argwhere(truth)) // 2], True)], None)
    first = time.perf_counter() - start
    run = simulate(session.answer, truth, max_clicks=8)
    cv2.findContours(selection.astype(np.uint8), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)  # the outline, too
    return {"first_click_ms": 1000 * first, "next_click_ms": 1000 * statistics.median(run.seconds)}


def run(data_paths: list[tuple[Path, Path]], methods: list[str], make_seconds: float = 240.0,
        learn_seconds: float = 600.0) -> dict:
    results: dict[str, dict | None] = {m: None for m in METHODS}
    data = []
    for image_path, mask_path in data_paths:
        image = load_image(image_path)
        data.append((image, read_mask(mask_path, image.shape[:2])))
    count = sum(len(objects(mask)) for _image, mask in data)
    if "grabcut" in methods:
        results["grabcut"] = summary([grabcut_box(image, truth) for image, mask in data for _c, truth in objects(mask)])
    if "shipped" in methods or "learned" in methods:
        path, net = shipped_model(make_seconds)
        results["shipped"] = summary(click_runs(net, data))
        half = len(data) // 2
        results["shipped_second_half"] = summary(click_runs(net, data[half:]))
        if "learned" in methods:
            learned, steps = learned_model(net, data[:half], learn_seconds)
            results["learned"] = {**summary(click_runs(learned, data[half:])), "steps": steps,
                                  "seconds": learn_seconds, "learned_from_images": half}
        results["one_megapixel"] = one_megapixel(path)
    return {"images": len(data), "objects": count, **results}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", type=Path)
    ap.add_argument("--masks", type=Path)
    ap.add_argument("--classes", type=Path, help="class names (only their count matters here)")
    ap.add_argument("--sample", type=int, help="use N generated images (the sample project's) instead")
    ap.add_argument("--microscopy", action="store_true", help="the 16 nuclei tiles of loop_bench.py")
    ap.add_argument("--methods", default=",".join(METHODS), help="which of grabcut,shipped,learned")
    ap.add_argument("--learn-seconds", type=float, default=600.0,
                    help="how long the learned model learns (600: ten of the click lane's one-minute rounds)")
    ap.add_argument("--make-seconds", type=float, default=240.0,
                    help="how long the start model trains when it has to be made first")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="click-bench-") as tmp:
        data_from_args(args, Path(tmp), ap)
        results = run(pairs(args.images, args.masks), args.methods.split(","), args.make_seconds, args.learn_seconds)
    print(f"{results['images']} images, {results['objects']} objects (regions of >= 16 pixels, not background)")
    print(f"{'method':<20} {'objects':>7} {'NoC@85':>7} {'NoC@90':>7} {'failed@85':>10} {'ms/answer':>10}")
    for method in (*METHODS, "shipped_second_half"):
        r = results.get(method)
        if r is None:
            continue
        print(f"{method:<20} {r['objects']:>7} {r['noc85']:>7.2f} {r['noc90']:>7.2f} {r['failed85']:>10.1%} "
              f"{r['ms_per_click']:>10.1f}")
    if results.get("learned"):
        base, now = results["shipped_second_half"]["noc85"], results["learned"]["noc85"]
        print(f"learned after {results['learned']['seconds']:.0f} s ({results['learned']['steps']} steps) on the "
              f"first {results['learned']['learned_from_images']} images: {1 - now / base:.0%} fewer clicks to 85% "
              f"than shipped on the same objects")
    if results.get("one_megapixel"):
        mp = results["one_megapixel"]
        print(f"1-megapixel image: first click {mp['first_click_ms']:.0f} ms (model read from its file), "
              f"next clicks {mp['next_click_ms']:.0f} ms (median)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
