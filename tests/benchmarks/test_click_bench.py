"""The click benchmark runs end to end on generated images and writes the figures it promises, under
the keys the issue names: the GrabCut box, the click model as shipped (made first, as the app does,
when the machine has none) and after learning from the first half of the images."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_simulated_person_clicks_every_object_for_each_method(tmp_path):
    out = tmp_path / "clicks.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "click_bench.py"), "--sample", "2",
                           "--make-seconds", "1", "--learn-seconds", "1", "--json", str(out)],
                          capture_output=True, text=True, timeout=600, cwd=ROOT,
                          env={**os.environ, "FCN_STUDIO_CACHE_DIR": str(tmp_path / "cache")})
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(out.read_text())
    assert result["images"] == 2 and result["objects"] >= 2
    for method in ("grabcut", "shipped", "learned"):
        figures = result[method]
        assert set(figures) >= {"noc85", "noc90", "failed85", "ms_per_click"}, method
        assert 1 <= figures["noc85"] <= figures["noc90"] <= 20 and 0 <= figures["failed85"] <= 1
        assert figures["ms_per_click"] > 0
    assert result["grabcut"]["noc85"] >= 2  # a box is two clicks at best
    assert result["shipped"]["objects"] == result["objects"]
    assert result["learned"]["objects"] == result["shipped_second_half"]["objects"] < result["objects"]
    assert result["one_megapixel"]["first_click_ms"] > 0 and result["one_megapixel"]["next_click_ms"] > 0
    assert (tmp_path / "cache" / "click" / "click-start-v2.safetensors").is_file()  # made as the app makes it
    assert "fewer clicks to 85% than shipped" in proc.stdout
