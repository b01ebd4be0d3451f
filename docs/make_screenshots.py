"""Makes the guide's screenshots (docs/images/*.png) from the real app in a real window, so they are
made again whenever the window changes:

    python docs/make_screenshots.py [--out docs/images] [--keep-seconds 300]

Without a DISPLAY it starts its own X server (Xvfb, 1280x720) with the openbox window manager (Linux;
both must be installed); with one, it uses it, and the screen should be 1280x720 for the pictures to
match. The app runs here, in this process, on a new sample project in a temporary folder, with its own
settings: nothing of yours is read or changed, except that models come from your model cache. It is
driven as a person would (the same menus' actions, mouse events on the canvas), with real training:
eight images are corrected first (their true masks), keep learning is switched on, and the script
waits for the first better model to be swapped in (at most --keep-seconds; on a busy 2-core CPU a few
minutes). Screen grabs are quantised to 128 colours, so the PNGs stay small.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "images"
SIZE = (1280, 720)
COLOURS = 128  # a screenshot of the window needs no more; the PNGs stay about 80 KB each
CORRECTED_FIRST = range(1, 9)  # images corrected before the window opens (the person's earlier work)


def start_x() -> list[subprocess.Popen]:
    """Xvfb on a free display (it picks one and tells us: no fixed number) and openbox on it."""
    if not shutil.which("Xvfb") or not shutil.which("openbox"):
        sys.exit("no DISPLAY, and Xvfb or openbox is not installed (apt install xvfb openbox)")
    read, write = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", f"{SIZE[0]}x{SIZE[1]}x24",
                             "-nolisten", "tcp"], pass_fds=(write,), stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as f:
        display = f":{f.readline().strip()}"
    os.environ["DISPLAY"] = display
    wm = subprocess.Popen(["openbox"], stderr=subprocess.DEVNULL)
    return [wm, xvfb]


class Driver:
    """The app in this process, and the few things the script does with it."""

    def __init__(self, work: Path) -> None:
        from PySide6.QtCore import QSettings
        from PySide6.QtWidgets import QApplication

        from fcn_studio.ui.app import GuiThreadCollector, warm_up_torch
        from fcn_studio.ui.errors import install_excepthook, setup_logging

        setup_logging()
        self.app = QApplication.instance() or QApplication(sys.argv[:1])
        self.app.setApplicationName("FCN Studio")
        self.collector = GuiThreadCollector(self.app)
        install_excepthook()
        warm_up_torch()
        from fcn_studio.ui.window.main_window import MainWindow

        self.w = MainWindow(settings=QSettings(str(work / "settings.ini"), QSettings.Format.IniFormat))
        self.w.show()
        self.w.showMaximized()
        self.wait(lambda: self.w.isVisible(), 10)
        self.pause(1.0)

    def pause(self, seconds: float) -> None:
        """Lets the event loop run (painting, workers' results) for a while."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.app.processEvents()
            time.sleep(0.01)

    def wait(self, condition, seconds: float, what: str = "") -> bool:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.app.processEvents()
            if condition():
                return True
            time.sleep(0.02)
        if what:
            print(f"  (gave up waiting for {what} after {seconds:.0f} s)")
        return False

    def shot(self, path: Path, widget=None) -> None:
        """The screen as X shows it (window frames and dialogs included), or one widget's area of it."""
        from PIL import Image

        self.pause(0.5)
        screen = self.app.primaryScreen()
        if widget is None:
            pixmap = screen.grabWindow(0)
        else:
            top_left = widget.mapToGlobal(widget.rect().topLeft())
            pixmap = screen.grabWindow(0, top_left.x(), top_left.y(), widget.width(), widget.height())
        raw = path.with_suffix(".raw.png")
        pixmap.save(str(raw), "PNG")
        with Image.open(raw) as im:
            im.convert("RGB").quantize(COLOURS, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
                path, optimize=True)
        raw.unlink()
        print(f"  {path.name}: {path.stat().st_size // 1024} KB")

    def shot_of_modal(self, path: Path, open_it) -> None:
        """A modal dialog (it runs its own event loop): grabbed from inside that loop, then cancelled."""
        from PySide6.QtCore import QTimer

        def grab() -> None:
            dialog = self.app.activeModalWidget()
            if dialog is None:
                QTimer.singleShot(100, grab)
                return
            self.shot(path)
            dialog.reject()

        QTimer.singleShot(300, grab)
        open_it()

    def drag(self, points, button=None) -> None:
        """A mouse drag on the canvas, in image pixels, with the events a person's hand makes."""
        from PySide6.QtCore import QPointF, Qt
        from PySide6.QtTest import QTest

        button = button or Qt.MouseButton.LeftButton
        vp, canvas = self.w.canvas.viewport(), self.w.canvas
        at = [canvas.mapFromScene(QPointF(x, y)) for x, y in points]
        QTest.mousePress(vp, button, Qt.KeyboardModifier.NoModifier, at[0])
        for p in at[1:]:
            QTest.mouseMove(vp, p, 15)
        QTest.mouseRelease(vp, button, Qt.KeyboardModifier.NoModifier, at[-1])

    def dock(self, title: str):
        from PySide6.QtWidgets import QDockWidget

        return next(d for d in self.w.findChildren(QDockWidget) if d.windowTitle() == title)

    def quit(self) -> None:
        for dialog in self.app.topLevelWidgets():  # a dialog left open by a failure would hold the quit
            if dialog is not self.w and dialog.isVisible():
                dialog.close()
        self.w.close()
        self.wait(lambda: self.w.quitting.done, 60, "the window to shut down")
        self.collector.close()


def correct_some(project_dir: Path) -> None:
    """The person's earlier work: the true masks of a few images, saved as their corrections."""
    from fcn_studio.core.mask_io import read_mask
    from fcn_studio.project.project import Project

    project = Project.open(project_dir)
    try:
        records = sorted(project.images(), key=lambda r: r.path)
        for i in CORRECTED_FIRST:
            rec = records[i]
            truth = read_mask(project_dir / "ground_truth" / (Path(rec.path).stem + ".png"))
            project.save_mask(rec.id, truth)
    finally:
        project.close()


def stroke_inside_a_shape(truth_png: Path) -> tuple[int, list[tuple[int, int]]]:
    """A correction a person would make: a brush stroke along the middle row of the largest shape in
    the image's true mask, in that shape's class."""
    import numpy as np

    from fcn_studio.core.mask_io import read_mask

    truth = read_mask(truth_png)
    classes, counts = np.unique(truth[(truth > 0) & (truth < 255)], return_counts=True)
    cls = int(classes[np.argmax(counts)])
    ys, xs = np.nonzero(truth == cls)
    row = int(np.median(ys))
    cols = np.nonzero(truth[row] == cls)[0]
    inner = cols[(cols > cols.min() + 8) & (cols < cols.max() - 8)]
    return cls, [(int(x), row + (i % 3) - 1) for i, x in enumerate(inner[::4])]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--keep-seconds", type=float, default=300,
                    help="how long to wait for keep learning to swap in a model that good")
    ap.add_argument("--target-iu", type=float, default=0.6,
                    help="the validation mean IU of the model the loop picture waits for")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    started = [] if os.environ.get("DISPLAY") else start_x()
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    work = Path(tempfile.mkdtemp(prefix="fcn-studio-shots-"))
    os.environ["XDG_CONFIG_HOME"] = str(work / "config")
    try:
        return make(args, work)
    finally:
        for p in started:
            p.terminate()
            p.wait(10)
        shutil.rmtree(work, ignore_errors=True)


def make(args, work: Path) -> int:
    out = args.out
    d = Driver(work)
    try:
        return shoot(args, d, out)
    finally:
        d.quit()


def shoot(args, d: Driver, out: Path) -> int:
    from fcn_studio.project.sample import create_sample_project

    w, work = d.w, Path(d.w.settings.fileName()).parent
    print("first run")
    d.shot(out / "first-run.png")

    print("sample project")
    sample = create_sample_project(work / "fcn-studio-sample")
    correct_some(sample)
    w.opening.open_paths([sample])
    d.wait(lambda: w.canvas.image_item.buffer is not None and w.current_id is not None, 60, "the first image")
    d.wait(lambda: w.project.image(w.current_id).state == "predicted" and w.overlay.mask is not None, 180,
           "the first prediction")
    d.pause(2)
    w.status.clearMessage()
    d.shot(out / "project.png")

    print("correcting")
    cls, stroke = stroke_inside_a_shape(work / "fcn-studio-sample" / "ground_truth" / "sample_000.png")
    w.actions["tool_brush"].trigger()
    w.tools_panel.size.setValue(14)
    w.actions[f"class_{cls}"].trigger()
    d.drag(stroke)
    w.status.clearMessage()
    d.pause(1)
    d.shot(out / "correcting.png")

    print("keep learning (waiting for the first better model)")
    training = d.dock("Training")
    training.raise_()
    w.keep_learning.box.switch.setChecked(True)
    started = time.monotonic()
    swapped = d.wait(lambda: w.keep_learning.in_use is not None and w.keep_learning.in_use.mean_iu >= args.target_iu,
                     args.keep_seconds, f"a swapped-in model with validation mean IU {args.target_iu}")
    print(f"  {'swapped in after' if swapped else 'no model swapped in within'} {time.monotonic() - started:.0f} s")
    w.image_list.step(9)  # from the first image to one nobody corrected, predicted again by the new model
    d.pause(6)
    d.shot(out / "loop.png")
    d.shot(out / "keep-learning.png", training)

    print("export, pretrained models, shortcuts")
    d.shot_of_modal(out / "export.png", w.datasets.export_dialog)
    w.pretrained.show_dialog()
    d.wait(lambda: w.pretrained.dialog is not None and w.pretrained.dialog.isVisible(), 20, "the pretrained dialog")
    d.shot(out / "pretrained.png")
    w.pretrained.dialog.close()
    w.actions["shortcuts"].trigger()
    d.shot(out / "shortcuts.png")
    w._shortcut_dialog.close()
    w.keep_learning.box.switch.setChecked(False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
