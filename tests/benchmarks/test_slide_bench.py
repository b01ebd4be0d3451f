"""The slide benchmark's two scripts at tiny sizes: make_slide writes a tiled, JPEG, pyramidal TIFF that
looks like a scan, and slide_bench measures it next to its baselines under the keys it reports, and
cleans up the slides it made."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import tifffile

ROOT = Path(__file__).resolve().parents[2]


def test_make_slide_writes_a_tiled_jpeg_pyramid_that_looks_like_a_scan(tmp_path):
    out = tmp_path / "s.tif"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "make_slide.py"), str(out), "--width", "1500",
                           "--height", "1100", "--tile", "256"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    with tifffile.TiffFile(out) as tif:
        levels = tif.series[0].levels
        assert [lv.shape for lv in levels] == [(1100, 1500, 3), (550, 750, 3), (275, 375, 3)]
        page = levels[0].keyframe
        assert page.is_tiled and page.tilewidth == 256 and page.compression == 7  # JPEG
        image, small = levels[0].asarray(), levels[2].asarray()
    glass = (image.min(axis=2) > 225).mean()
    assert 0.05 < glass < 0.95 and image.std() > 20  # glass and stained tissue, not a flat colour
    # the levels show one picture: level 2 is close to level 0's 4 x 4 means
    means = image[:1100 // 4 * 4, :1500].reshape(275, 4, 375, 4, 3).mean(axis=(1, 3))
    assert np.abs(means - small.astype(float)).mean() < 10  # 4 when right, 19 for a level drawn unscaled
    assert not list(tmp_path.glob("*.part"))


def test_slide_bench_measures_views_memory_and_strokes_next_to_baselines(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "slide_bench.py"), "--megapixels", "2", "0.5",
                           "--tile", "256", "--views", "2", "--flat-limit", "5", "--json", str(out)],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "TMPDIR": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads(out.read_text())
    assert [round(r["megapixels"], 1) for r in results] == [2.0, 0.5]
    for r in results:
        assert len(r["levels"]) >= 2
        for level in r["levels"]:
            for key in ("cold", "pan", "tifffile"):
                assert 0 < level[key]["median_ms"] <= level[key]["worst_ms"] and level[key]["n"] == 2
        assert 0 < r["stroke_journalled"]["median_ms"] <= r["stroke_on_disk"]["median_ms"]
        assert r["ours_traced_peak_mb"] > 0 and r["flat_decoded_mb"] > 0 and r["flat_decode_s"] > 0
    assert "tifffile, no cache" in proc.stdout and "stroke in its chunks" in proc.stdout
    for r in results:  # the same slide on the app's canvas, in the same run
        app = r["app"]
        assert app["first_paint_ms"] > 0 and 0 < app["frame"]["median_ms"] <= app["frame"]["worst_ms"]
        assert app["baseline_frame_reading_on_gui_thread"]["n"] == 2 and app["stroke_on_disk"]["median_ms"] > 0
        assert app["view_prediction"]["seconds"] > 0 and app["view_prediction"]["flat_seconds"] > 0
        assert app["peak_rss_mb"] > 0
    assert "on the app's canvas" in proc.stdout and "first paint" in proc.stdout
    left = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("torchinductor"))  # torch's own cache
    assert left == ["bench.json"]  # the slides it made are gone
