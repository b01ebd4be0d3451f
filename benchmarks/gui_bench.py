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
no stall > 50 ms.

`python benchmarks/gui_bench.py --large [--baseline REV] [--size 12000x9000]` (issue 12) measures large
images with this tree and with REV (default 2734ec6, before display levels; extracted with `git
archive`), each in fresh child processes, in the same run, and prints them side by side: the longest
GUI stall and time to first paint opening a generated 24-MP and a 108-MP JPEG, zoom (28 wheel steps)
and pan (40 scrolls) frame times as synchronous viewport repaints, a whole-image fill and its undo from
the click to the repaint, and resident memory growth against the decoded image's bytes.

`--background-training` (issue 11) also measures opening a 24-MP JPEG (time to first paint, longest
stall) and the longest GUI stall of a window left showing it for 5 s, idle and while keep learning's
backend trains in the background (benchmarks/background_training.py), side by side."""

from __future__ import annotations

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
from PySide6.QtGui import QImage, QPixmap  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402
from stall import longest_stall_during, quit_window  # noqa: E402 (beside this script)

from fcn_studio.core.image_io import load_image  # noqa: E402
from fcn_studio.core.overlay import overlay_lut  # noqa: E402
from fcn_studio.core.sample_data import SAMPLE_LABELS, sample_image  # noqa: E402
from fcn_studio.project.project import Project  # noqa: E402
from fcn_studio.ui.app import warm_up_torch  # noqa: E402
from fcn_studio.ui.canvas.overlay_state import OverlayState  # noqa: E402
from fcn_studio.ui.errors import log_only  # noqa: E402
from fcn_studio.ui.window.main_window import MainWindow  # noqa: E402

log_only()  # a benchmark drives the window with nobody to click OK

APP = QApplication.instance() or QApplication(sys.argv[:1])
warm_up_torch()  # as the app does at start-up
try:  # and, in the background, once its window shows (done before anyone opens an image)
    from fcn_studio.ui.app import warm_up_torchvision  # noqa: E402

    warm_up_torchvision().join()
except ImportError:  # TODAY's code (--large children) has none
    pass


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
    w.shell.asker = lambda *_: False
    w.resize(1400, 900)
    w.show()
    return w


def bench_open_24mp(tmp: Path) -> None:
    rgb = cv2.resize(sample_image(0, 400, 600)[0], (6000, 4000), interpolation=cv2.INTER_LINEAR)
    path = tmp / "big.jpg"
    Image.fromarray(rgb).save(path, quality=90)
    window = make_window(tmp)
    ours, stall = _open_and_paint(window, path)

    def naive():  # decode and convert on the GUI thread, as a simple viewer does
        arr = load_image(path)
        pix = QPixmap.fromImage(QImage(arr.data, arr.shape[1], arr.shape[0], arr.shape[1] * 3,
                                       QImage.Format.Format_RGB888))
        assert not pix.isNull()

    t0 = time.perf_counter()
    base_stall = longest_stall_during(naive, 0.05)
    baseline = (time.perf_counter() - t0) * 1000 - 50
    row("open 24-MP JPEG: time to first paint", ours, baseline)
    row("open 24-MP JPEG: longest GUI stall", stall, base_stall, note="(ours decodes off the GUI thread)")
    quit_window(window)


def bench_overlay_toggle() -> None:
    from fcn_studio.core.pyramid import visible_tiles  # noqa: PLC0415 - not in TODAY's code (--large children)

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
        for ty, tx in visible_tiles((0, 0, 6000, 4000), 3, (4000, 6000)):  # what a fitted view then colours
            state.tile(3, ty, tx)
        times.append(time.perf_counter() - t)
        t = time.perf_counter()
        overlay_lut(SAMPLE_LABELS, 0.5, hidden=[1] if i % 2 else [])[mask]
        base.append(time.perf_counter() - t)
    row("overlay recolour after class toggle, 24 MP", 1000 * np.median(times), 1000 * np.median(base),
        note=f"(worst {1000 * max(times):.1f} ms; target < 30)")


def bench_list_10k(tmp: Path) -> None:
    folder = tmp / "many"
    folder.mkdir()
    tile = sample_image(1, 24, 32)[0]
    for i in range(10_000):
        cv2.imwrite(str(folder / f"img_{i:05d}.png"), tile)
    window = make_window(tmp)
    start = time.perf_counter()
    window.opening.open_paths([folder])
    wait_until(lambda: window.image_list.proxy.rowCount() == 10_000)
    ours = (time.perf_counter() - start) * 1000
    t = time.perf_counter()
    for f in sorted(folder.iterdir()):
        with Image.open(f) as img:
            _ = img.size
    baseline = (time.perf_counter() - t) * 1000
    row("list a folder of 10,000 images", ours, baseline, note="(baseline opens each file for its size)")
    quit_window(window)


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
    window.opening.open_project(tmp / "proj")
    wait_until(lambda: window.worker.predictor is not None)
    finished = []
    window.worker.batch_finished.connect(lambda *a: finished.append(a))
    t = time.perf_counter()
    ours = longest_stall_during(lambda: window.predictions.predict_all(), 0, done=lambda: bool(finished))
    elapsed = time.perf_counter() - t
    predictor = Predictor.from_checkpoint(ckpt, device="cpu")[0]
    batch = [load_image(p) for p in sorted(images.iterdir())[:4]]
    baseline = longest_stall_during(lambda: [predictor.predict(b) for b in batch], 0.05)
    row("longest GUI stall during predict all", ours, baseline,
        note=f"({finished[0][0]} images in {elapsed:.1f} s; baseline predicts on the GUI thread; target < 50)")
    quit_window(window)


# -- large images (issue 12): this tree against TODAY's code, each in a fresh child process ----------
TODAY = "2734ec6"  # main before display levels: full-size BGRA image, full-size ARGB overlay


def rss_mib() -> float:
    """This process's resident memory now (Linux /proc; psutil elsewhere when installed)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    import psutil  # noqa: PLC0415

    return psutil.Process().memory_info().rss / 2**20


def _open_and_paint(window: MainWindow, path: Path) -> tuple[float, float]:
    """(ms to the first paint of the image, longest GUI stall in ms meanwhile). Works with either
    version of the canvas: the image item's `buffer` is None until an image is set; the first paint
    is then forced at once (a synchronous repaint, counted in the stall as the event loop would)."""
    item = window.canvas.image_item
    painted: list[float] = []

    def done() -> bool:
        if not painted and item.buffer is not None and window.session.editor is not None:
            window.canvas.viewport().repaint()
            painted.append(time.perf_counter())
        return bool(painted)

    start = time.perf_counter()
    stall = longest_stall_during(lambda: window.opening.open_paths([path]), 0, done=done)
    return (painted[0] - start) * 1000, stall


def _frames(window: MainWindow, steps) -> list[float]:
    """ms per synchronous repaint of the viewport after each step (a zoom or a scroll)."""
    vp, out = window.canvas.viewport(), []
    for step in steps:
        step()
        t = time.perf_counter()
        vp.repaint()
        out.append((time.perf_counter() - t) * 1000)
    return out


def large_child(kind: str, path: Path, tmp: Path) -> dict:
    """One version's figures, printed as JSON by `gui_bench.py --child KIND IMAGE TMP`."""
    from PySide6.QtCore import QPoint, Qt  # noqa: PLC0415
    from PySide6.QtTest import QTest  # noqa: PLC0415

    window = make_window(tmp)
    window.opening.ensure_model = lambda: None  # no model predicting while we measure
    wait_until(lambda: True)
    for _ in range(20):
        APP.processEvents()
    rss0 = rss_mib()
    first, stall = _open_and_paint(window, path)
    out = {"first_paint_ms": first, "stall_ms": stall}
    if kind == "open":
        return out
    canvas = window.canvas
    h, w = window.session.editor.shape
    for _ in range(5):
        APP.processEvents()
    out["rss_open_mib"] = rss_mib() - rss0
    canvas.fit()
    zoom = _frames(window, [lambda: canvas.zoom_by(1.25)] * 14 + [lambda: canvas.zoom_by(0.8)] * 14)
    canvas.fit()
    canvas.zoom_by(2.0)
    hsb, vsb = canvas.horizontalScrollBar(), canvas.verticalScrollBar()
    right, down = (lambda: hsb.setValue(hsb.value() + 120)), (lambda: vsb.setValue(vsb.value() + 90))
    pan = _frames(window, [right] * 10 + [down] * 10)
    canvas.one_to_one()
    pan1 = _frames(window, [right] * 10 + [down] * 10)
    out.update(zoom_ms=zoom, pan_ms=pan + pan1)
    canvas.fit()
    APP.processEvents()
    window.tools_panel.set_tool("fill")
    window.commands.pick_class(1)
    vp = canvas.viewport()
    where = canvas.mapFromScene(w / 3, h / 3)
    t = time.perf_counter()
    QTest.mouseClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(where.x(), where.y()))
    vp.repaint()
    out["fill_ms"] = (time.perf_counter() - t) * 1000
    assert window.session.editor.mask[h // 3, w // 3] == 1, "the fill did not happen"
    window.session.flush(300)
    t = time.perf_counter()
    window.commands.undo()
    vp.repaint()
    out["undo_ms"] = (time.perf_counter() - t) * 1000
    assert window.session.editor.mask[h // 3, w // 3] == 255, "the undo did not happen"
    window.session.flush(300)
    for _ in range(5):
        APP.processEvents()
    out["rss_edited_mib"] = rss_mib() - rss0
    out["decoded_mib"] = h * w * 3 / 2**20
    quit_window(window)
    return out


def make_photo(path: Path, width: int, height: int) -> None:
    """A generated photo-like JPEG (smooth colour fields plus texture), nothing downloaded."""
    small = cv2.resize(sample_image(3, 300, 400)[0], (width, height), interpolation=cv2.INTER_CUBIC)
    noise = np.random.default_rng(0).integers(-12, 12, (height // 4, width // 4, 1), dtype=np.int16)
    small = np.clip(small + cv2.resize(noise, (width, height), interpolation=cv2.INTER_NEAREST)[..., None], 0, 255)
    cv2.imwrite(str(path), cv2.cvtColor(small.astype(np.uint8), cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])


def bench_large(baseline: str, size: tuple[int, int]) -> None:
    import json  # noqa: PLC0415
    import subprocess  # noqa: PLC0415

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from predict_bench import REPO, extract  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="gui-bench-large-") as tmp:
        tmp = Path(tmp)
        big, mid = tmp / "large.jpg", tmp / "mid.jpg"
        make_photo(big, *size)
        make_photo(mid, 6000, 4000)
        versions = {"today": extract(baseline, tmp / "today"), "ours": REPO}
        results: dict[str, dict] = {}
        for name, root in versions.items():
            results[name] = {}
            for kind, image in (("open", mid), ("large", big)):
                work = tmp / f"{name}-{kind}"
                work.mkdir()
                env = {**os.environ, "PYTHONPATH": str(root), "XDG_CACHE_HOME": str(work / "cache"),
                       "XDG_CONFIG_HOME": str(work / "cfg"), "XDG_STATE_HOME": str(work / "state")}
                proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", kind, str(image),
                                       str(work)], env=env, cwd=root, capture_output=True, text=True)
                if proc.returncode != 0:
                    raise RuntimeError(f"{name} {kind} failed:\n{proc.stderr[-3000:]}")
                results[name][kind] = json.loads(proc.stdout.strip().splitlines()[-1])
                print(f"  measured {name} {kind}", flush=True)
    t, o = results["today"], results["ours"]
    mp = size[0] * size[1] / 1e6
    print(f"\n{'large images (same run)':<52} {'today ' + baseline:>14} {'ours':>10}")

    def line(what: str, a: float, b: float, unit: str = "ms", note: str = "") -> None:
        print(f"{what:<52} {a:12.1f}{unit:>2} {b:8.1f}{unit:>2}  {note}")

    line("open 24-MP JPEG: longest GUI stall", t["open"]["stall_ms"], o["open"]["stall_ms"], note="(target <= 50)")
    line("open 24-MP JPEG: time to first paint", t["open"]["first_paint_ms"], o["open"]["first_paint_ms"])
    line(f"open {mp:.0f}-MP JPEG: longest GUI stall", t["large"]["stall_ms"], o["large"]["stall_ms"])
    line(f"open {mp:.0f}-MP JPEG: time to first paint", t["large"]["first_paint_ms"], o["large"]["first_paint_ms"])
    for key, what in (("zoom_ms", "zoom frame (28 wheel steps)"), ("pan_ms", "pan frame (40 scrolls)")):
        a, b = np.array(t["large"][key]), np.array(o["large"][key])
        line(f"{mp:.0f} MP {what}: median", np.median(a), np.median(b), note="(target <= 50)")
        line(f"{mp:.0f} MP {what}: worst", a.max(), b.max())
    line(f"{mp:.0f} MP whole-image fill (click to repaint)", t["large"]["fill_ms"], o["large"]["fill_ms"])
    line(f"{mp:.0f} MP undo of that fill (to repaint)", t["large"]["undo_ms"], o["large"]["undo_ms"])
    dec = o["large"]["decoded_mib"]
    for key, what in (("rss_open_mib", "memory after open"), ("rss_edited_mib", "memory after fill + undo")):
        a, b = t["large"][key], o["large"][key]
        line(f"{mp:.0f} MP {what} (RSS growth, MiB)", a, b, unit="",
             note=f"= {a / dec:.2f}x / {b / dec:.2f}x the decoded image ({dec:.0f} MiB; target <= 2x)")


def bench_background_training(tmp: Path) -> None:
    from background_training import training_in_background  # noqa: PLC0415 (beside this script)

    rgb = cv2.resize(sample_image(0, 400, 600)[0], (6000, 4000), interpolation=cv2.INTER_LINEAR)
    Image.fromarray(rgb).save(tmp / "big.jpg", quality=90)

    def measure(name: str) -> tuple[float, float, float]:
        (tmp / name).mkdir()
        window = make_window(tmp / name)
        first_paint, open_stall = _open_and_paint(window, tmp / "big.jpg")
        shown_stall = longest_stall_during(lambda: None, 5.0)
        quit_window(window)
        return first_paint, open_stall, shown_stall

    idle = measure("idle")
    with training_in_background():
        busy = measure("training")
    print(f"\n{'with keep learning training in the background':<46} {'idle':>10} {'training':>10}")
    for what, a, b in zip(("open 24-MP JPEG: time to first paint", "open 24-MP JPEG: longest GUI stall",
                           "longest GUI stall, window shown 5 s"), idle, busy, strict=True):
        print(f"{what:<46} {a:7.1f} ms {b:7.1f} ms")


def main() -> None:
    import argparse  # noqa: PLC0415

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--large", action="store_true", help="only the large-image figures, against --baseline")
    ap.add_argument("--baseline", default=TODAY, help=f"git revision for TODAY's figures (default {TODAY})")
    ap.add_argument("--size", default="12000x9000", help="the large image, WIDTHxHEIGHT")
    ap.add_argument("--background-training", action="store_true",
                    help="also measure while keep learning trains in the background (idle and training side by side)")
    ap.add_argument("--child", nargs=3, metavar=("KIND", "IMAGE", "TMP"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        import json  # noqa: PLC0415

        print(json.dumps(large_child(args.child[0], Path(args.child[1]), Path(args.child[2]))), flush=True)
        os._exit(0)  # the figures are out; the window's threads need no orderly teardown
    if args.large:
        bench_large(args.baseline, tuple(int(v) for v in args.size.split("x")))
        return
    print(f"{'measurement':<46} {'ours':>10} {'baseline':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["XDG_CACHE_HOME"] = str(Path(tmp) / "cache")
        bench_overlay_toggle()
        for sub in ("a", "b", "c"):
            (Path(tmp) / sub).mkdir()
        bench_open_24mp(Path(tmp) / "a")
        bench_list_10k(Path(tmp) / "b")
        bench_predict_all_stall(Path(tmp) / "c")
        if args.background_training:
            (Path(tmp) / "d").mkdir()
            bench_background_training(Path(tmp) / "d")


if __name__ == "__main__":
    main()
