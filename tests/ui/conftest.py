import gc

import numpy as np
import pytest
import torch
from PIL import Image
from PySide6.QtCore import QSettings

from fcn_studio.core.sample_data import SAMPLE_LABELS, sample_image
from fcn_studio.model.checkpoint import save_checkpoint
from fcn_studio.model.factory import new_model
from tests.model.caffe_port_reference import randomise_scores_


@pytest.fixture(autouse=True)
def collect_qt_wrappers_here():
    """After each test (and after pytest-qt has closed its widgets), collect the test's windows here, in
    the main thread. Left to the garbage collector, a window's wrapper can be collected in a worker thread;
    shiboken 6.12 then defers the C++ deletion to the main thread, which can deadlock on a Qt mutex held by
    a worker waiting for the GIL (seen once: the pretrained dialog's download test hung CI)."""
    yield
    gc.collect()


@pytest.fixture
def tiny_checkpoint(tmp_path):
    """A real checkpoint, small enough for CI, whose predictions vary over the image."""
    torch.manual_seed(0)
    model, info, _ = new_model("fcn8s", "mobilenet_v3_small", SAMPLE_LABELS, weights=None)
    randomise_scores_(model, std=0.2)
    path = tmp_path / "tiny.safetensors"
    save_checkpoint(path, model, info)
    return path


@pytest.fixture
def photo_folder(tmp_path):
    folder = tmp_path / "photos"
    (folder / "more").mkdir(parents=True)
    for i in range(4):
        img, _ = sample_image(i, 96, 128)
        Image.fromarray(img).save(folder / ("more" if i == 3 else ".") / f"img_{i}.png")
    return folder


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("FCN_STUDIO_NO_DIALOGS", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("FCN_STUDIO_DEFAULT_BACKBONE", "mobilenet_v3_small")  # quick to make in every test
    from fcn_studio.ui.main_window import MainWindow

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(settings=settings)
    w.answers = []  # what the "person" answers to questions, in order (default: no)
    w.shell.asker = lambda title, text: w.answers.pop(0) if w.answers else False
    w.session_saver.question = lambda: "discard"  # quitting a session with work: no dialog in tests
    qtbot.addWidget(w)
    w.show()
    yield w
    w.session.flush(10)  # quitting with saves in flight is tested on its own (test_quit_right_after_a_stroke)
    if w.workspace.runs.active:  # keep learning still on: a quit waits for it, and pytest-qt would delete the
        w.workspace.runs.stop_all(lambda: None)  # window (and its running worker) meanwhile
        w.workspace.runs.wait(30)
    w.close()


def overlay_pixels(w) -> np.ndarray:
    return None if w.canvas.overlay_item.source is None else w.overlay.pixels()


def wait_for_image(qtbot, w, name: str) -> None:
    qtbot.waitUntil(lambda: w.canvas.image_item.buffer is not None and name in w.windowTitle(), timeout=10_000)
