"""The first image a person sees is predicted as soon as a model is ready (a project, a single PNG, a
16-bit TIFF), also when the model brings its own classes; and Accept Prediction takes a prediction
stored in an earlier session."""

import time

import numpy as np
import pytest
from PIL import Image

from fcn_studio.core.sample_data import SAMPLE_LABELS, sample_image
from fcn_studio.project.project import Project
from tests.ui.conftest import close_window, open_photo_project, wait_for_image


def _predicted_on_screen(qtbot, w) -> None:
    qtbot.waitUntil(lambda: w.current_id is not None
                    and w.project.image(w.current_id).state == "predicted", timeout=60_000)
    stored = w.project.load_prediction(w.current_id)
    qtbot.waitUntil(lambda: w.overlay.mask is not None and np.array_equal(w.overlay.mask, stored), timeout=10_000)


@pytest.mark.parametrize("kind", ["project", "png", "tiff16"])
def test_the_first_image_shown_is_predicted(qtbot, window, tmp_path, photo_folder, tiny_checkpoint, kind):
    if kind == "project":
        project = Project.create(tmp_path / "proj", SAMPLE_LABELS)
        project.add_images([photo_folder])
        project.set_model_path(tiny_checkpoint)
        project.close()
        window.opening.open_paths([tmp_path / "proj"])
    else:
        img, _ = sample_image(3, 96, 128)
        path = tmp_path / ("one.png" if kind == "png" else "one.tif")
        Image.fromarray(img if kind == "png" else img[..., 0].astype(np.uint16) * 200).save(path)
        window.opening.open_paths([path])  # a session of one image, with the default model made for it
    _predicted_on_screen(qtbot, window)


def test_a_model_with_its_own_classes_predicts_the_image_once_the_classes_changed(
        qtbot, window, tmp_path, photo_folder, tiny_checkpoint, monkeypatch):
    """A VOC project given a 4-class model: the prediction is made in the new classes, after the masks
    were rewritten (a prediction made meanwhile would be mapped as if in the old ones: all unlabelled)."""
    project = Project.create(tmp_path / "voc")
    project.add_images([photo_folder])
    project.set_model_path(tiny_checkpoint)
    project.close()
    slow = Project.change_labels

    def slow_change(self, *args, **kwargs):
        time.sleep(1.0)  # rewriting many masks takes a while; the model is quicker
        return slow(self, *args, **kwargs)

    monkeypatch.setattr(Project, "change_labels", slow_change)
    window.opening.open_paths([tmp_path / "voc"])
    qtbot.waitUntil(lambda: window.class_panel.list.count() == 4, timeout=20_000)
    _predicted_on_screen(qtbot, window)
    assert (window.overlay.mask != 255).all()


def test_accept_prediction_takes_one_made_in_an_earlier_session(qtbot, window, tmp_path, photo_folder,
                                                                tiny_checkpoint):
    from fcn_studio.ui.window.main_window import MainWindow

    open_photo_project(qtbot, window, tmp_path, photo_folder, model=tiny_checkpoint)
    _predicted_on_screen(qtbot, window)
    image_id = window.current_id
    stored = window.project.load_prediction(image_id)
    window.session.flush(5)
    window.close()  # quit; the next start has made no prediction yet
    again = MainWindow(settings=window.settings)
    again.show()
    again.opening.open_paths([tmp_path / "proj"])
    wait_for_image(qtbot, again, "img_0.png")
    qtbot.waitUntil(lambda: again.session.editor is not None and again.current_rgb is not None, timeout=10_000)
    assert again.commands.last_prediction is None
    again.commands.accept_prediction()
    qtbot.waitUntil(lambda: again.project.image(image_id).state == "corrected", timeout=10_000)
    assert "Accepted the prediction" in again.status.currentMessage()
    assert again.session.flush(5)
    close_window(qtbot, again)
    assert np.array_equal(Project.open(tmp_path / "proj").load_mask(image_id), stored)
