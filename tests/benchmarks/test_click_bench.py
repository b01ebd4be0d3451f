"""The click benchmark runs end to end on generated images and writes the figures it promises, under
the keys the issue names."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_simulated_person_boxes_every_object_and_the_summary_has_each_method(tmp_path):
    out = tmp_path / "clicks.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "click_bench.py"), "--sample", "3",
                           "--json", str(out)], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(out.read_text())
    assert result["images"] == 3 and result["objects"] >= 3
    grabcut = result["grabcut"]
    assert set(grabcut) >= {"noc85", "noc90", "failed85", "ms_per_click"}
    assert 2 <= grabcut["noc85"] <= grabcut["noc90"] <= 20  # a box is two clicks at best
    assert 0 <= grabcut["failed85"] <= 1 and grabcut["ms_per_click"] > 0
    assert result["shipped"] is None and result["learned"] is None  # no click model yet
