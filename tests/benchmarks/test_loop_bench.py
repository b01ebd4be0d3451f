"""The loop benchmark runs end to end on generated images and writes the figures it promises."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_simulated_annotator_scores_each_shown_prediction_and_writes_the_summary(tmp_path):
    out = tmp_path / "loop.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "loop_bench.py"), "--sample", "4",
                           "--seconds-per-image", "0", "--modes", "static", "--backbone", "mobilenet_v3_small",
                           "--json", str(out)], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(out.read_text())
    assert len(result["shown_miou"]) == 4 and all(0 <= v <= 1 for v in result["shown_miou"])
    assert result["second_half_miou"] == sum(result["shown_miou"][2:]) / 2
    static = result["modes"]["static"]
    assert {r["version"] for r in static["rows"]} == {"start"}  # a model that never learns
    assert 0 < result["effort_ratio"]
