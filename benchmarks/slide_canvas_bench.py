"""A whole slide on the app's canvas (the real CanvasView and SlideItem, Qt offscreen, a 1920 x 1080
viewport), for a slide of 2 gigapixels and one of a tenth of that, each in its own process:

- first paint: from opening the slide (reader, labels, the coarsest levels read) to the fitted view
  painted, and until every tile of that view is sharp;
- pan and zoom frames: the GUI thread's paint of random views at zooms from the whole slide to 2:1
  (median, worst), and how long until the view is sharp (tiles read in the background);
- the baseline in the same run: the same views painted by reading their tiles on the GUI thread as
  they are drawn (what a canvas without the background reader would do);
- a stroke (a 20-pixel brush at 1:1, dragged 300 pixels) from release to its chunks on disk;
- the process's peak memory.

    python benchmarks/slide_canvas_bench.py A.tif B.tif [--views 30] [--json OUT]
    (benchmarks/make_slide.py makes the slides: 2116 and 211.6 megapixels)"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

VIEWPORT = (1920, 1080)


def summary(seconds: list[float]) -> dict:
    """Median and worst in milliseconds (shared with slide_bench.py)."""
    return {"median_ms": 1000 * statistics.median(seconds), "worst_ms": 1000 * max(seconds), "n": len(seconds)}


def peak_rss_mb() -> float | None:
    """The process's peak resident memory, where the platform tells it (not Windows)."""
    try:
        import resource
    except ImportError:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def measure(path: Path, count: int) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtWidgets import QApplication

    from fcn_studio.core.labels import LabelSet
    from fcn_studio.project.project import Project
    from fcn_studio.ui.canvas.overlay_state import OverlayState
    from fcn_studio.ui.canvas.shown_image import load_shown_slide
    from fcn_studio.ui.canvas.view import CanvasView
    from fcn_studio.ui.dispatch import GuiDispatcher

    app = QApplication.instance() or QApplication([])
    dispatch = GuiDispatcher()
    rng = np.random.default_rng(0)
    out: dict = {"slide": str(path)}
    with tempfile.TemporaryDirectory(prefix="fcn-slide-canvas-") as tmp:
        project = Project.create(Path(tmp) / "proj", LabelSet.voc())
        project.add_images([path])
        canvas = CanvasView()
        canvas.resize(*VIEWPORT)
        canvas.show()
        overlay = OverlayState()

        def sharp(timeout: float = 30.0) -> float:
            """Seconds until every tile of the view is drawn from its own level."""
            t0 = time.perf_counter()
            while time.perf_counter() - t0 < timeout:
                app.processEvents()
                zoom = canvas.zoom
                scene = canvas.mapToScene(canvas.viewport().rect()).boundingRect()
                missing = 0
                for tiles in (canvas.slide_item.tiles, canvas.slide_labels.tiles):
                    level = tiles.level_for(zoom)
                    if level != len(tiles.shapes) - 1:
                        missing += sum(tiles.ready(level, ty, tx) is None for ty, tx in tiles.tiles_in(level, scene))
                if not missing:
                    canvas.viewport().grab()
                    return time.perf_counter() - t0
                time.sleep(0.002)
            return float("inf")

        t0 = time.perf_counter()
        shown = load_shown_slide(project, 1, path, overlay, dispatch)
        canvas.set_slide(shown.image_tiles, shown.label_tiles)
        canvas.viewport().grab()
        out["first_paint_ms"] = 1000 * (time.perf_counter() - t0)
        out["first_sharp_ms"] = out["first_paint_ms"] + 1000 * sharp()
        out["shape"] = list(shown.shape)
        out["megapixels"] = shown.shape[0] * shown.shape[1] / 1e6

        fit = canvas.zoom
        zooms = np.exp(rng.uniform(np.log(fit), np.log(2.0), count))
        frames, until_sharp, places = [], [], []
        for z in zooms:
            canvas.set_zoom(float(z))
            canvas.centerOn(float(rng.uniform(0, shown.shape[1])), float(rng.uniform(0, shown.shape[0])))
            places.append((float(z), canvas.mapToScene(canvas.viewport().rect()).boundingRect()))
            t0 = time.perf_counter()
            canvas.viewport().grab()  # the paint, on this (the GUI) thread
            frames.append(time.perf_counter() - t0)
            until_sharp.append(sharp())
            for _ in range(3):  # a pan of a tenth of the view from there
                canvas.translate(-VIEWPORT[0] / 10 / z, 0)
                t0 = time.perf_counter()
                canvas.viewport().grab()
                frames.append(time.perf_counter() - t0)
        out["frame"] = summary(frames)
        out["until_sharp"] = summary(until_sharp)

        # baseline: the same views, their tiles read on the GUI thread while painting
        source = shown.source
        baseline = []
        image = QImage(*VIEWPORT, QImage.Format.Format_RGB32)
        for z, scene in places:
            source.cache.clear()
            level = source.level_for_downsample(1 / z)
            d = source.levels[level].downsample
            rect = (int(max(0, scene.top()) / d), int(max(0, scene.left()) / d),
                    int(min(shown.shape[0], scene.bottom()) / d) + 1, int(min(shown.shape[1], scene.right()) / d) + 1)
            t0 = time.perf_counter()
            rgb = np.ascontiguousarray(source.read_region(level, rect))
            painter = QPainter(image)
            painter.drawImage(QRectF(0, 0, *VIEWPORT), QImage(rgb.data, rgb.shape[1], rgb.shape[0], rgb.strides[0],
                                                              QImage.Format.Format_RGB888))
            painter.end()
            baseline.append(time.perf_counter() - t0)
        out["baseline_frame_reading_on_gui_thread"] = summary(baseline)

        # strokes: release -> chunks on disk
        editing = shown.editing
        editing.autosave_delay = 0.0
        on_disk = []
        for _ in range(max(5, count // 3)):
            y, x = float(rng.uniform(100, shown.shape[0] - 100)), float(rng.uniform(100, shown.shape[1] - 400))
            t0 = time.perf_counter()
            editing.paint([(x, y), (x + 150, y), (x + 300, y)], 20, int(rng.integers(1, 5)))
            editing.flush(10)
            on_disk.append(time.perf_counter() - t0)
        out["stroke_on_disk"] = summary(on_disk)
        out["tile_reads"] = source.tile_reads
        out["peak_rss_mb"] = peak_rss_mb()  # viewing, panning, zooming and painting
        out["view_prediction"] = predict_view(shown, canvas, project)
        out["peak_rss_with_prediction_mb"] = out["view_prediction"]["peak_rss_mb"]
        editing.close()
        canvas.set_image(None)
        source.close()
        project.close()
    return out


def predict_view(shown, canvas, project) -> dict:
    """Seconds until the tiles under a 1920 x 1080 view at 1:1 are predicted into the slide's
    prediction pyramid (the app's order: nearest the view first), next to predicting the same view
    as one flat image with the same predictor (the baseline: what an image of that size costs)."""
    import threading

    from fcn_studio.inference.predictor import Predictor
    from fcn_studio.inference.slide_predict import predict_into_pyramid
    from fcn_studio.model.factory import new_model
    from fcn_studio.project.label_pyramid import LabelPyramid

    model, info, _ = new_model("fcn8s", "mobilenet_v3_large", project.labels, weights=None)
    predictor = Predictor(model.eval(), info.input, device="cpu")
    h, w = shown.shape
    cy, cx = h // 2, w // 2
    vh, vw = min(h, VIEWPORT[1]), min(w, VIEWPORT[0])
    view = (cy - vh // 2, cx - vw // 2, cy - vh // 2 + vh, cx - vw // 2 + vw)
    covered = np.zeros((view[2] - view[0], view[3] - view[1]), bool)
    cancel = threading.Event()

    def landed(rect) -> None:
        y0, x0 = max(rect[0], view[0]), max(rect[1], view[1])
        y1, x1 = min(rect[2], view[2]), min(rect[3], view[3])
        if y0 < y1 and x0 < x1:
            covered[y0 - view[0]:y1 - view[0], x0 - view[1]:x1 - view[1]] = True
        if covered.all():
            cancel.set()

    pyramid = LabelPyramid.create(project.prediction_pyramid_path(1), shown.shape)
    tiles = [0]
    t0 = time.perf_counter()
    try:
        predict_into_pyramid(predictor, shown.source, pyramid, (cy, cx), lambda d, t: tiles.__setitem__(0, d),
                             cancel, landed)
    except Exception:  # noqa: BLE001 - Cancelled, once the view is covered
        pass
    ours = time.perf_counter() - t0
    peak = peak_rss_mb()  # the app's, predicting (before the baseline's own prediction)
    region = shown.source.read_region(0, view)
    t0 = time.perf_counter()
    predictor.predict(region)
    flat = time.perf_counter() - t0
    return {"seconds": ours, "tiles": tiles[0], "tile": predictor.tile, "flat_seconds": flat, "peak_rss_mb": peak}


def measure_in_child(slide: Path, views: int) -> dict:
    """`measure` in a process of its own (its peak memory its own)."""
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--one", str(slide), "--views", str(views)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"measuring {slide} on the canvas failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(results: list[dict]) -> None:
    for r in results:
        print(f"{Path(r['slide']).name} on the app's canvas: {r['megapixels']:.0f} megapixels "
              f"({r['shape'][1]} x {r['shape'][0]})")
        print(f"  first paint {r['first_paint_ms']:.0f} ms, sharp after {r['first_sharp_ms']:.0f} ms")
        for key, name in (("frame", "pan/zoom frame (ours)"),
                          ("baseline_frame_reading_on_gui_thread", "frame reading tiles on the GUI thread"),
                          ("until_sharp", "until a new view is sharp"), ("stroke_on_disk", "stroke to chunks")):
            s = r[key]
            print(f"  {name:<40} median {s['median_ms']:7.1f} ms, worst {s['worst_ms']:7.1f} ms (n={s['n']})")
        p = r["view_prediction"]
        print(f"  a 1920 x 1080 view at 1:1 predicted: {p['seconds']:.1f} s ({p['tiles']} tiles of {p['tile']}); "
              f"the same view as one flat image: {p['flat_seconds']:.1f} s")
        print(f"  peak memory {r['peak_rss_mb']:.0f} MB viewing and painting, "
              f"{r['peak_rss_with_prediction_mb']:.0f} MB once the model has predicted a view; "
              f"tiles decoded {r['tile_reads']}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("slides", nargs="*", type=Path)
    ap.add_argument("--views", type=int, default=30)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--one", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one is not None:
        print(json.dumps(measure(args.one, args.views)))
        return
    results = [measure_in_child(slide, args.views) for slide in args.slides]
    report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
