import numpy as np
import pytest
import shiboken6
import torch
from PIL import Image
from PySide6.QtCore import QSettings

from fcn_studio.core.sample_data import SAMPLE_LABELS, sample_image
from fcn_studio.model.checkpoint import save_checkpoint
from fcn_studio.model.factory import new_model
from fcn_studio.ui.app import GuiThreadCollector
from tests.model.caffe_port_reference import randomise_scores_


@pytest.fixture(autouse=True)
def collect_garbage_in_gui_thread(qapp):
    """Garbage is collected in the GUI thread only, as the app does from its start (see
    GuiThreadCollector): left to Python, a widget collected in a worker is deleted in the GUI thread
    with the GIL held, which hung CI once (the pretrained dialog's download test). After the test, and
    after pytest-qt has closed its widgets, what is left is collected here and Python collects again."""
    collector = GuiThreadCollector()
    yield
    collector.close()


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
    from fcn_studio.ui import errors

    errors.log_only()  # message boxes would wait for a click nobody makes
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("FCN_STUDIO_DEFAULT_BACKBONE", "mobilenet_v3_small")  # quick to make in every test
    from fcn_studio.ui.window.main_window import MainWindow

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(settings=settings)
    w.answers = []  # what the "person" answers to questions, in order (default: no)
    w.shell.asker = lambda title, text: w.answers.pop(0) if w.answers else False
    w.session_saver.question = lambda: "discard"  # quitting a session with work: no dialog in tests
    w.show()  # not qtbot.addWidget: pytest-qt would delete the window while its threads still end
    yield w
    w.session.flush(10)  # quitting with saves in flight is tested on its own (test_quit_right_after_a_stroke)
    close_window(qtbot, w)
    errors.log_only(False)


def close_window(qtbot, w, timeout: int = 30_000) -> None:
    """Quits as a person does and waits for every thread of the window to end (quitting never blocks:
    the window hides at once and finishes in the background)."""
    if not w.quitting.done:
        w.close()
        qtbot.waitUntil(lambda: w.quitting.done, timeout=timeout)
    if shiboken6.isValid(w):
        w.deleteLater()  # with its dialogs, as pytest-qt would; its threads have ended


def overlay_pixels(w) -> np.ndarray:
    return None if w.canvas.overlay_item.source is None else w.overlay.pixels()


def wait_for_image(qtbot, w, name: str) -> None:
    qtbot.waitUntil(lambda: w.canvas.image_item.buffer is not None and name in w.windowTitle()
                    and w.current_id is not None and w.session.current_id == w.current_id, timeout=10_000)


def open_photo_project(qtbot, w, tmp_path, photo_folder, model=None):
    """A project of the photo folder (with `model` as its model), opened in `w` with quick saves, its
    first image shown."""
    from fcn_studio.project.project import Project

    project = Project.create(tmp_path / "proj", SAMPLE_LABELS)
    project.add_images([photo_folder])
    if model is not None:
        project.set_model_path(model)
    project.close()
    w.session.autosave_delay = 0.05
    w.opening.open_paths([tmp_path / "proj"])
    wait_for_image(qtbot, w, "img_0.png")
    return tmp_path / "proj"
