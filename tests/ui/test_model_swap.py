"""After a model swap, every image whose pixels are still the model's shows the new prediction, on
screen too: also one a person touched and undid (the real window, offscreen)."""

import numpy as np
import torch
from PySide6.QtCore import Qt

from fcn_studio.core.sample_data import SAMPLE_LABELS
from fcn_studio.model.checkpoint import save_checkpoint
from fcn_studio.model.factory import new_model
from tests.model.caffe_port_reference import randomise_scores_
from tests.ui.conftest import open_photo_project, wait_for_image
from tests.ui.test_editing import drag


def _other_model(path):
    torch.manual_seed(7)
    model, info, _ = new_model("fcn8s", "mobilenet_v3_small", SAMPLE_LABELS, weights=None)
    randomise_scores_(model, std=0.5)
    save_checkpoint(path, model, info)
    return path


def _shows_the_stored_prediction(qtbot, w):
    def same() -> bool:
        stored = w.project.load_prediction(w.current_id)
        return stored is not None and w.overlay.mask is not None and np.array_equal(w.overlay.mask, stored) \
            and np.array_equal(w.session.editor.mask, stored)
    qtbot.waitUntil(same, timeout=20_000)


def _touch_and_undo(qtbot, w):
    w.canvas.setFocus()
    qtbot.keyClick(w, Qt.Key.Key_B)
    cls = 1 if w.overlay.mask[20, 30] != 1 else 2
    qtbot.keyClick(w, getattr(Qt.Key, f"Key_{cls}"))
    drag(qtbot, w, [(10, 20), (60, 20)])
    assert w.overlay.mask[20, 30] == cls
    qtbot.keyClick(w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert w.session.flush(10)
    qtbot.waitUntil(lambda: w.project.image(w.current_id).state == "predicted", timeout=10_000)


def test_a_swapped_in_model_shows_on_an_image_touched_and_undone(qtbot, window, tmp_path, photo_folder,
                                                                  tiny_checkpoint):
    open_photo_project(qtbot, window, tmp_path, photo_folder, model=tiny_checkpoint)
    _shows_the_stored_prediction(qtbot, window)
    first = window.overlay.mask.copy()
    first_id = window.current_id
    _touch_and_undo(qtbot, window)
    qtbot.keyClick(window, Qt.Key.Key_D)  # the next image: touched and undone too, and left on screen
    wait_for_image(qtbot, window, "img_1.png")
    _shows_the_stored_prediction(qtbot, window)
    _touch_and_undo(qtbot, window)

    window.workspace.request_model(_other_model(tmp_path / "other.safetensors"))
    qtbot.waitUntil(lambda: window.status.model.text() == "other.safetensors", timeout=60_000)
    _shows_the_stored_prediction(qtbot, window)  # the image on screen: canvas and editor
    assert "painted by you" not in window.overlay.describe(30, 20)

    window.predictions.predict_all()  # the image left behind gets the new model's prediction too
    qtbot.waitUntil(lambda: not window.worker.batch_running, timeout=60_000)
    qtbot.keyClick(window, Qt.Key.Key_A)
    wait_for_image(qtbot, window, "img_0.png")
    assert window.current_id == first_id
    _shows_the_stored_prediction(qtbot, window)
    assert not np.array_equal(window.overlay.mask, first)  # the new model's, not the first one's
