"""The whole-slide benchmark (issue 23): reading the tiles of a 1920 x 1080 view at each level through
the slide reader and its tile cache, its memory, and the time from a stroke to its label-pyramid chunks
on disk; then the same slide on the app's canvas (slide_canvas_bench.py: first paint, pan and zoom frames,
the app's memory, a stroke from release to disk, the prediction of a view), for a slide of 2 gigapixels
and one of a tenth of that, each next to a baseline in the same run.

    python benchmarks/slide_bench.py                         # makes both slides in a temporary folder
    python benchmarks/slide_bench.py --megapixels 2116 211   # the sizes to make
    python benchmarks/slide_bench.py --slide A.svs B.tif     # or measure existing slides

Each slide is measured in its own process, so its peak memory is its own. Baselines: the same views
read through tifffile's zarr view without our cache (the decoding floor), and the memory of the flat
decoded image the app would otherwise need (3 bytes a pixel; decoded for real with --flat, up to
--flat-limit megapixels)."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import slide_canvas_bench  # noqa: E402 (beside this script)
from slide_canvas_bench import peak_rss_mb, summary  # noqa: E402

VIEW = (1080, 1920)  # height, width, in level pixels
DEFAULT_SIZES = (2116, 211.6)


def views(shape: tuple[int, int], count: int, rng: np.random.Generator) -> list[tuple[int, int, int, int]]:
    h, w = min(VIEW[0], shape[0]), min(VIEW[1], shape[1])
    out = []
    for _ in range(count):
        y0, x0 = int(rng.integers(0, shape[0] - h + 1)), int(rng.integers(0, shape[1] - w + 1))
        out.append((y0, x0, y0 + h, x0 + w))
    return out


def measure(path: Path, count: int, flat_limit: float) -> dict:
    """Everything for one slide, in this process."""
    import tifffile
    import zarr

    from fcn_studio.core.slide import TileCache, open_slide
    from fcn_studio.project.journal import EditJournal
    from fcn_studio.project.label_pyramid import SLIDE_JOURNALS, LabelPyramid, PyramidEditor

    rng = np.random.default_rng(0)
    result: dict = {"slide": str(path), "levels": []}
    tracemalloc.start()
    start = time.perf_counter()
    slide = open_slide(path, cache=TileCache())
    result["open_ms"] = 1000 * (time.perf_counter() - start)
    result["shape"] = list(slide.shape)
    result["megapixels"] = slide.shape[0] * slide.shape[1] / 1e6
    for k, level in enumerate(slide.levels):
        cold, warm = [], []
        for rect in views(level.shape, count, rng):
            slide.cache.clear()
            t0 = time.perf_counter()
            slide.read_region(k, rect)
            cold.append(time.perf_counter() - t0)
            y0, x0, y1, x1 = rect  # then a pan of a tenth of the view: most tiles are cached
            dy, dx = min(VIEW[0] // 10, level.shape[0] - y1), min(VIEW[1] // 10, level.shape[1] - x1)
            t0 = time.perf_counter()
            slide.read_region(k, (y0 + dy, x0 + dx, y1 + dy, x1 + dx))
            warm.append(time.perf_counter() - t0)
        result["levels"].append({"level": k, "shape": list(level.shape), "cold": summary(cold), "pan": summary(warm)})
    result["ours_traced_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
    result["cache_budget_mb"] = slide.cache.budget / 2**20
    slide.close()
    tracemalloc.stop()
    result["ours_peak_rss_mb"] = peak_rss_mb()

    # Baseline: the same kind of views through tifffile's zarr view, no cache of ours.
    with tifffile.TiffFile(path) as tif:
        for k, entry in enumerate(result["levels"]):
            array = zarr.open_array(tif.series[0].aszarr(level=k), mode="r")
            seconds = []
            for y0, x0, y1, x1 in views(tuple(entry["shape"]), count, np.random.default_rng(0)):
                t0 = time.perf_counter()
                np.asarray(array[y0:y1, x0:x1])
                seconds.append(time.perf_counter() - t0)
            entry["tifffile"] = summary(seconds)

    # Strokes: a 40-pixel brush dragged 300 pixels, journalled (durable) then written to the chunks.
    folder = Path(tempfile.mkdtemp(prefix="fcn-slide-bench-"))
    try:
        pyramid = LabelPyramid.create(folder / "masks" / "slide.zarr", tuple(slide.shape))
        editor = PyramidEditor(pyramid, EditJournal(folder, SLIDE_JOURNALS), 1)
        journal_s, chunks_s = [], []
        for _ in range(count):
            y0, x0 = int(rng.integers(0, slide.shape[0] - 40)), int(rng.integers(0, slide.shape[1] - 300))
            patch = np.full((40, 300), int(rng.integers(0, 4)), np.uint8)
            t0 = time.perf_counter()
            editor.stroke((y0, x0, y0 + 40, x0 + 300), patch)
            t1 = time.perf_counter()
            editor.flush()
            journal_s.append(t1 - t0)
            chunks_s.append(time.perf_counter() - t0)
        editor.journal.close()
        result["stroke_journalled"] = summary(journal_s)
        result["stroke_on_disk"] = summary(chunks_s)
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    result["flat_decoded_mb"] = slide.shape[0] * slide.shape[1] * 3 / 2**20
    if result["megapixels"] <= flat_limit:
        t0 = time.perf_counter()
        flat = tifffile.imread(path, level=0)
        result["flat_decode_s"] = time.perf_counter() - t0
        result["flat_peak_rss_mb"] = peak_rss_mb()
        del flat
    return result


def report(results: list[dict]) -> None:
    for r in results:
        print(f"\n{r['slide']}: {r['shape'][1]} x {r['shape'][0]} ({r['megapixels'] / 1000:.2f} gigapixels), "
              f"opened in {r['open_ms']:.0f} ms")
        print(f"  {'1920x1080 view, level':<24} {'ours cold':>18} {'ours pan 1/10':>18} {'tifffile, no cache':>20}")
        for lv in r["levels"]:
            def cell(s):
                return f"{s['median_ms']:7.1f} ({s['worst_ms']:6.1f})"
            print(f"  {lv['level']:>2} {'x'.join(map(str, lv['shape'][::-1])):<21} {cell(lv['cold']):>18} "
                  f"{cell(lv['pan']):>18} {cell(lv['tifffile']):>20}   ms median (worst)")
        rss = r["ours_peak_rss_mb"]
        print(f"  memory: peak RSS {rss:.0f} MB" if rss is not None else "  memory: peak RSS unknown here",
              f"(numpy/Python peak {r['ours_traced_peak_mb']:.0f} MB, tile cache budget {r['cache_budget_mb']:.0f} MB);"
              f" flat decoded image: {r['flat_decoded_mb']:.0f} MB")
        if "flat_decode_s" in r:
            print(f"  flat baseline decoded for real: {r['flat_decode_s']:.1f} s, "
                  f"peak RSS {r['flat_peak_rss_mb']:.0f} MB")
        for key, what in (("stroke_journalled", "stroke journalled (fsynced)"),
                          ("stroke_on_disk", "stroke in its chunks")):
            print(f"  {what:<30} {r[key]['median_ms']:7.1f} ms median, {r[key]['worst_ms']:7.1f} ms worst")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--slide", nargs="+", type=Path, help="existing slides to measure")
    ap.add_argument("--megapixels", nargs="+", type=float, default=list(DEFAULT_SIZES),
                    help="sizes of the slides to make (default: 2116 and 211.6)")
    ap.add_argument("--tile", type=int, default=512, help="tile side of the slides made")
    ap.add_argument("--views", type=int, default=20, help="views (and strokes) measured per level")
    ap.add_argument("--flat-limit", type=float, default=0, help="decode level 0 whole for slides up to this size "
                    "(megapixels) as the flat baseline")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--no-app", action="store_true", help="the reading and label layers only, not the app's canvas")
    ap.add_argument("--one", type=Path, help=argparse.SUPPRESS)  # the child: measure one slide, print JSON
    args = ap.parse_args(argv)
    if args.one:
        print(json.dumps(measure(args.one, args.views, args.flat_limit)))
        return
    made = None
    slides = args.slide
    if not slides:
        sys.path.insert(0, str(HERE))
        from make_slide import make_slide, side_for

        made = Path(tempfile.mkdtemp(prefix="fcn-slide-bench-"))
        slides = []
        for mp in args.megapixels:
            side = side_for(mp)
            t0 = time.perf_counter()
            slides.append(make_slide(made / f"slide-{mp:g}mp.tif", side, side, tile=args.tile))
            print(f"made {slides[-1].name} ({side} x {side}, {slides[-1].stat().st_size / 2**20:.0f} MiB) "
                  f"in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    try:
        results = []
        for path in slides:
            proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--one", str(path), "--views",
                                   str(args.views), "--flat-limit", str(args.flat_limit)],
                                  capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                raise SystemExit(f"measuring {path} failed:\n{proc.stderr[-3000:]}")
            results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
            if not args.no_app:  # the same slide on the app's canvas, in a process of its own
                results[-1]["app"] = slide_canvas_bench.measure_in_child(path, args.views)
        report(results)
        if not args.no_app:
            print()
            slide_canvas_bench.report([r["app"] for r in results])
        if args.json:
            args.json.write_text(json.dumps(results, indent=1))
    finally:
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)


if __name__ == "__main__":
    main()
