"""GUI benchmarks for issue 3, each beside a naive baseline measured in the same run:

1. a 24-megapixel image: open to first paint (ours: decode + one BGRA conversion off the GUI thread,
   painted without conversion; baseline: QPixmap.fromImage on the GUI thread, as simple viewers do);
2. overlay recompute after a class toggle at 24 MP (ours: chunked premultiplied-ARGB gather into a
   reused buffer; baseline: numpy RGBA fancy indexing);
3. listing a folder of 10,000 small images (ours: paths into SQLite, list model, no decoding;
   baseline: opening every file to read its size);
4. the longest GUI-thread stall while "Predict all" runs (a 5 ms timer records event-loop lateness;
   baseline: the same predictions made on the GUI thread).

Run: `python benchmarks/gui_bench.py` (offscreen unless DISPLAY is set). Targets: overlay < 30 ms,
no stall > 50 ms."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("FCN_STUDIO_NO_DIALOGS", "1")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
from PySide6.QtCore import QElapsedTimer, QSettings, QTimer  # noqa: E402
from PySide6.QtGui import QImage, QPixmap  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from fcn_studio.core.image_io import load_image  # noqa: E402
from fcn_studio.core.overlay import overlay_lut  # noqa: E402
from fcn_studio.core.sample_data import SAMPLE_LABELS, sample_image  # noqa: E402
from fcn_studio.project.project import Project  # noqa: E402
from fcn_studio.ui.app import warm_up_torch  # noqa: E402
from fcn_studio.ui.canvas import BufferItem  # noqa: E402
from fcn_studio.ui.main_window import MainWindow  # noqa: E402
from fcn_studio.ui.overlay_state import OverlayState  # noqa: E402

APP = QApplication.instance() or QApplication(sys.argv[:1])
warm_up_torch()  # as the app does at start-up


def wait_until(pred, timeout: float = 120.0) -> None:
    end = time.perf_counter() + timeout
    while not pred():
        APP.processEvents()
        if time.perf_counter() > end:
            raise TimeoutError("benchmark step did not finish")
        time.sleep(0.001)


def row(what: str, ours: float, baseline: float, unit: str = "ms", note: str = "") -> None:
    print(f"{what:<46} {ours:10.1f} {baseline:10.1f} {unit:<4} {baseline / max(ours, 1e-9):6.1f}x  {note}")


def make_window(tmp: Path) -> MainWindow:
    w = MainWindow(settings=QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat))
    w.ask = lambda *_: False
    w.resize(1400, 900)
    w.show()
    return w


def bench_open_24mp(tmp: Path) -> None:
    rgb = cv2.resize(sample_image(0, 400, 600)[0], (6000, 4000), interpolation=cv2.INTER_LINEAR)
    path = tmp / "big.jpg"
    Image.fromarray(rgb).save(path, quality=90)
    window = make_window(tmp)
    painted: list[float] = []
    original = BufferItem.paint

    def paint(self, painter, option, widget=None):
        original(self, painter, option, widget)
        if self is window.canvas.image_item and self.buffer is not None:
            painted.append(time.perf_counter())

    BufferItem.paint = paint
    try:
        start = time.perf_counter()
        stall = _longest_stall_during(lambda: window.open_paths([path]), 0, done=lambda: bool(painted))
        ours = (painted[0] - start) * 1000

        def naive():  # decode and convert on the GUI thread, as a simple viewer does
            arr = load_image(path)
            pix = QPixmap.fromImage(QImage(arr.data, arr.shape[1], arr.shape[0], arr.shape[1] * 3,
                                           QImage.Format.Format_RGB888))
            assert not pix.isNull()

        t0 = time.perf_counter()
        base_stall = _longest_stall_during(naive, 0.05)
        baseline = (time.perf_counter() - t0) * 1000 - 50
    finally:
        BufferItem.paint = original
    row("open 24-MP JPEG: time to first paint", ours, baseline)
    row("open 24-MP JPEG: longest GUI stall", stall, base_stall, note="(ours decodes off the GUI thread)")
    window.close()


def bench_overlay_toggle() -> None:
    mask = cv2.resize(np.random.default_rng(0).integers(0, 4, (40, 60)).astype(np.uint8), (6000, 4000),
                      interpolation=cv2.INTER_NEAREST)
    state = OverlayState()
    state.set_labels(SAMPLE_LABELS)
    state.set_image_data(mask, None)
    state.render()
    times, base = [], []
    for i in range(7):
        state.visible = [True, i % 2 == 0, True, True]
        t = time.perf_counter()
        state.render()
        times.append(time.perf_counter() - t)
        t = time.perf_counter()
        overlay_lut(SAMPLE_LABELS, 0.5, hidden=[1] if i % 2 else [])[mask]
        base.append(time.perf_counter() - t)
    row("overlay recompute after class toggle, 24 MP", 1000 * np.median(times), 1000 * np.median(base),
        note=f"(worst {1000 * max(times):.1f} ms; target < 30)")


def bench_list_10k(tmp: Path) -> None:
    folder = tmp / "many"
    folder.mkdir()
    tile = sample_image(1, 24, 32)[0]
    for i in range(10_000):
        cv2.imwrite(str(folder / f"img_{i:05d}.png"), tile)
    window = make_window(tmp)
    start = time.perf_counter()
    window.open_paths([folder])
    wait_until(lambda: window.image_list.proxy.rowCount() == 10_000)
    ours = (time.perf_counter() - start) * 1000
    t = time.perf_counter()
    for f in sorted(folder.iterdir()):
        with Image.open(f) as img:
            _ = img.size
    baseline = (time.perf_counter() - t) * 1000
    row("list a folder of 10,000 images", ours, baseline, note="(baseline opens each file for its size)")
    window.close()


def _longest_stall_during(start_work, seconds: float, done=None) -> float:
    """Event-loop lateness of a 5 ms timer while work runs, in milliseconds (the worst)."""
    clock = QElapsedTimer()
    clock.start()
    last = [clock.elapsed()]
    worst = [0.0]

    def tick():
        now = clock.elapsed()
        worst[0] = max(worst[0], now - last[0] - 5)
        last[0] = now

    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(tick)
    timer.start()
    start_work()
    end = time.perf_counter() + seconds
    while (done is None and time.perf_counter() < end) or (done is not None and not done()):
        APP.processEvents()
        time.sleep(0.001)
    timer.stop()
    return worst[0]


def bench_predict_all_stall(tmp: Path) -> None:
    from fcn_studio.inference.predictor import Predictor
    from fcn_studio.model.checkpoint import save_checkpoint
    from fcn_studio.model.factory import new_model

    images = tmp / "predict"
    images.mkdir()
    for i in range(24):
        Image.fromarray(sample_image(i, 480, 640)[0]).save(images / f"p_{i:02d}.png")
    model, info, _ = new_model("fcn8s", "mobilenet_v3_large", SAMPLE_LABELS, weights=None)
    ckpt = tmp / "model.safetensors"
    save_checkpoint(ckpt, model, info)
    project = Project.create(tmp / "proj", SAMPLE_LABELS)
    project.add_images([images])
    project.set_model_path(ckpt)
    project.close()
    window = make_window(tmp)
    window.open_project(tmp / "proj")
    wait_until(lambda: window.worker.predictor is not None)
    finished = []
    window.worker.batch_finished.connect(lambda *a: finished.append(a))
    t = time.perf_counter()
    ours = _longest_stall_during(window.predict_all, 0, done=lambda: bool(finished))
    elapsed = time.perf_counter() - t
    predictor = Predictor.from_checkpoint(ckpt, device="cpu")[0]
    batch = [load_image(p) for p in sorted(images.iterdir())[:4]]
    baseline = _longest_stall_during(lambda: [predictor.predict(b) for b in batch], 0.05)
    row("longest GUI stall during predict all", ours, baseline,
        note=f"({finished[0][0]} images in {elapsed:.1f} s; baseline predicts on the GUI thread; target < 50)")
    window.close()


def main() -> None:
    print(f"{'measurement':<46} {'ours':>10} {'baseline':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["XDG_CACHE_HOME"] = str(Path(tmp) / "cache")
        bench_overlay_toggle()
        for sub in ("a", "b", "c"):
            (Path(tmp) / sub).mkdir()
        bench_open_24mp(Path(tmp) / "a")
        bench_list_10k(Path(tmp) / "b")
        bench_predict_all_stall(Path(tmp) / "c")


if __name__ == "__main__":
    main()
