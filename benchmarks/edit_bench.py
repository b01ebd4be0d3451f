"""Editing benchmarks for issue 4 at 6000 x 4000 with the overlay on, each beside a whole-mask
baseline measured in the same run (undo by copying the whole mask, overlay recomputed in full):

- one brush segment, 50 px and 500 px: the mask patch, the overlay patch, and the repaint of that
  rectangle in the real window (offscreen), against the baseline's copy + full recompute + repaint;
- filling a large region; undoing a large stroke; the memory held by 200 undo steps.

Target: a stroke segment under 8 ms, so painting keeps up with the display.

`--background-training` measures the brush segments and the longest GUI stall again while keep learning's
backend trains in the background (benchmarks/background_training.py), and prints idle and training side
by side."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from fcn_studio.core.editing.mask_editor import MaskEditor  # noqa: E402
from fcn_studio.core.editing.tools import Stroke, flood_fill, segment_footprint  # noqa: E402
from fcn_studio.core.editing.undo import UndoBudget  # noqa: E402
from fcn_studio.core.overlay import argb_lut, render_overlay  # noqa: E402
from fcn_studio.core.sample_data import SAMPLE_LABELS  # noqa: E402
from fcn_studio.ui.app import warm_up_torch  # noqa: E402
from fcn_studio.ui.canvas.view import LevelItem  # noqa: E402
from fcn_studio.ui.errors import log_only  # noqa: E402
from fcn_studio.ui.window.main_window import MainWindow  # noqa: E402

log_only()  # a benchmark drives the window with nobody to click OK

APP = QApplication.instance() or QApplication(sys.argv[:1])
warm_up_torch()
H, W = 4000, 6000


def row(what: str, ours: float, baseline: float, unit: str = "ms", note: str = "") -> None:
    print(f"{what:<44} {ours:10.2f} {baseline:10.2f} {unit:<3} {baseline / max(ours, 1e-9):7.1f}x  {note}")


def wait_until(pred, timeout: float = 120.0) -> None:
    end = time.perf_counter() + timeout
    while not pred():
        APP.processEvents()
        if time.perf_counter() > end:
            raise TimeoutError
        time.sleep(0.001)


def open_window(tmp: Path) -> MainWindow:
    img = np.random.default_rng(0).integers(0, 255, (H // 8, W // 8, 3)).astype(np.uint8)
    path = tmp / "big.jpg"
    Image.fromarray(cv2.resize(img, (W, H))).save(path, quality=85)
    window = MainWindow(settings=QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat))
    window.shell.asker = lambda *_: False
    window.opening.ensure_model = lambda: None  # no model predicting in the background while we measure
    window.resize(1400, 900)
    window.show()
    window.opening.open_paths([path])
    wait_until(lambda: window.session.editor is not None and window.canvas.overlay_item.buffer is not None)
    window.workspace.labels_changed.emit(SAMPLE_LABELS)
    window.overlay.visible = [True] * len(SAMPLE_LABELS)
    window._render_overlay()
    return window


PAINTS = [0]
_original_paint = LevelItem.paint


def _counting_paint(self, painter, option, widget=None):
    """Counts overlay repaints, to show the segment timings include them (patched before any item
    exists: PySide resolves Python overrides when the wrapper is made)."""
    if self.zValue() == 1:
        PAINTS[0] += 1
    _original_paint(self, painter, option, widget)


LevelItem.paint = _counting_paint


def segment_times(window: MainWindow, diameter: int, y: float = 2000) -> list[float]:
    """Seconds per brush segment (mask + overlay patch + the repaint of its rectangle), 40 segments."""
    stroke = Stroke(window.session.editor, 1, diameter)
    stroke.to(500, y)
    times = []
    for i in range(1, 41):
        t = time.perf_counter()
        stroke.to(500 + 30 * i, y + 10 * (i % 3))  # patch + overlay patch (on_change)
        APP.processEvents()  # the repaint of that rectangle
        APP.processEvents()
        times.append(time.perf_counter() - t)
    stroke.finish()
    return times


def longest_stall(window: MainWindow, seconds: float = 5.0) -> float:
    """Milliseconds: the latest a 5 ms timer fired while the window painted a stroke for `seconds`."""
    from stall import longest_stall_during  # noqa: PLC0415 (beside this script)

    stroke = Stroke(window.session.editor, 2, 80)
    i = [0]

    def step() -> None:
        i[0] += 1
        stroke.to(300 + (7 * i[0]) % 5000, 3000 + 300 * np.sin(i[0] / 20))
        time.sleep(0.003)  # a person's mouse moves about every 4-8 ms

    worst = longest_stall_during(lambda: None, seconds, step=step)
    stroke.finish()
    return worst


def bench_background_training(window: MainWindow) -> None:
    from background_training import training_in_background  # noqa: PLC0415 (beside this script)

    idle = {d: segment_times(window, d, 1000) for d in (50, 500)}
    idle_stall = longest_stall(window)
    with training_in_background():
        busy = {d: segment_times(window, d, 1500) for d in (50, 500)}
        busy_stall = longest_stall(window)
    print(f"\n{'with keep learning training in the background':<44} {'idle':>10} {'training':>10}")
    for d in (50, 500):
        print(f"{f'brush segment {d} px, median (worst)':<44} {1000 * np.median(idle[d]):7.2f} ms "
              f"{1000 * np.median(busy[d]):7.2f} ms  (worst {1000 * max(idle[d]):.1f} / {1000 * max(busy[d]):.1f} ms)")
    print(f"{'longest GUI stall while painting 5 s':<44} {idle_stall:7.1f} ms {busy_stall:7.1f} ms")


def bench_segments(window: MainWindow) -> None:
    editor = window.session.editor
    paints = PAINTS
    lut = argb_lut(SAMPLE_LABELS)
    full = np.empty(editor.mask.shape, np.uint32)  # the baseline's whole-image overlay
    for diameter in (50, 500):
        base = []
        paints[0] = 0
        ours = segment_times(window, diameter)
        ours_paints = paints[0]
        snapshot = editor.mask.copy()
        for i in range(1, 11):  # baseline: whole-mask undo copy, full overlay recompute, full repaint
            t = time.perf_counter()
            np.copyto(snapshot, editor.mask)
            rect, fp = segment_footprint((500 + 30 * i, 2500), (530 + 30 * i, 2500), diameter)
            y0, x0, y1, x1 = rect
            editor.mask[y0:y1, x0:x1][fp] = 2
            render_overlay(editor.mask, lut, full)
            window.canvas.update_overlay()
            APP.processEvents()
            base.append(time.perf_counter() - t)
        row(f"brush segment {diameter} px (mask+overlay+repaint)", 1000 * np.median(ours), 1000 * np.median(base),
            note=f"(worst {1000 * max(ours):.1f} ms, {ours_paints} repaints for 40 segments; target < 8)")


def bench_fill_undo_memory() -> None:
    mask = np.zeros((H, W), np.uint8)
    mask[:, W // 2] = 3  # a wall: the fill covers half the image, 12 megapixels
    editor = MaskEditor(mask, UndoBudget(10 * 2**30))
    t = time.perf_counter()
    flood_fill(editor, 10, 10, 1)
    ours = time.perf_counter() - t
    t = time.perf_counter()
    backup = mask.copy()  # baseline: whole-mask undo copy + the same fill
    region = np.zeros((H + 2, W + 2), np.uint8)
    cv2.floodFill(mask, region, (W - 10, 10), 2, 0, 0, 4 | cv2.FLOODFILL_FIXED_RANGE)
    base = time.perf_counter() - t
    row("fill a 12-MP region", 1000 * ours, 1000 * base, note="(baseline: cv2.floodFill + whole-mask undo copy)")
    del backup

    stroke = Stroke(editor, 2, 500)
    for x in range(300, W - 300, 60):
        stroke.to(x, H / 2 + 800 * np.sin(x / 700))
    edit = stroke.finish()
    lut = argb_lut(SAMPLE_LABELS)
    out = render_overlay(editor.mask, lut)  # as in the app: the overlay exists before any undo
    rects = []
    editor.on_change = rects.append
    t = time.perf_counter()
    editor.undo()
    for y0, x0, y1, x1 in rects:  # what the window does for each reported rectangle
        np.take(lut, editor.mask[y0:y1, x0:x1], out=out[y0:y1, x0:x1], mode="clip")
    ours = time.perf_counter() - t
    full = editor.mask.copy()
    t = time.perf_counter()
    np.copyto(editor.mask, full)
    render_overlay(editor.mask, lut, out)
    base = time.perf_counter() - t
    row("undo a 500-px stroke across the image", 1000 * ours, 1000 * base,
        note=f"(the step holds {edit.nbytes / 2**20:.0f} MB of tiles)")

    budget = UndoBudget(10 * 2**30)
    editor = MaskEditor(np.zeros((H, W), np.uint8), budget)
    rng = np.random.default_rng(0)
    for _ in range(200):
        stroke = Stroke(editor, int(rng.integers(0, 4)), 50)
        x, y = rng.uniform(0, W), rng.uniform(0, H)
        for _ in range(8):
            x, y = x + rng.normal(0, 60), y + rng.normal(0, 60)
            stroke.to(x, y)
        stroke.finish()
    ours = budget.nbytes / 2**20
    base = 200 * H * W / 2**20
    row("memory held by 200 undo steps (50 px)", ours, base, unit="MB", note="(baseline: a mask copy per step)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--background-training", action="store_true",
                    help="also measure while keep learning trains in the background (idle and training side by side)")
    args = ap.parse_args()
    print(f"{'measurement':<44} {'ours':>10} {'baseline':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["XDG_CACHE_HOME"] = str(Path(tmp) / "cache")
        window = open_window(Path(tmp))
        bench_segments(window)
        if args.background_training:
            bench_background_training(window)
        window.session.set_project(None)
        from stall import quit_window  # noqa: PLC0415 (beside this script)

        quit_window(window)
        bench_fill_undo_memory()


if __name__ == "__main__":
    main()
