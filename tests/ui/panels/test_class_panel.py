"""Seeing what is there: unlabelled pixels are hatched, apart from a hidden background, and the class
panel says which is which (its "unlabelled" row turns the hatch off and on)."""

import numpy as np

from fcn_studio.core.overlay import HATCH_DARK, HATCH_LIGHT
from fcn_studio.core.sample_data import SAMPLE_LABELS
from fcn_studio.project.project import Project
from tests.ui.conftest import overlay_pixels, wait_for_image


def test_unlabelled_is_hatched_and_the_background_is_not(qtbot, window, tmp_path, photo_folder):
    project = Project.create(tmp_path / "proj", SAMPLE_LABELS)
    project.add_images([photo_folder])
    mask = np.zeros((96, 128), np.uint8)  # background on the left ...
    mask[:, 64:] = 255  # ... unlabelled on the right (an eraser's result)
    project.save_mask(project.images()[0].id, mask)
    project.close()
    window.opening.open_paths([tmp_path / "proj"])
    wait_for_image(qtbot, window, "img_0.png")
    qtbot.waitUntil(lambda: overlay_pixels(window) is not None, timeout=10_000)
    box = window.class_panel.unlabelled_box
    assert box.isChecked() and "unlabelled" in box.text() and not box.icon().isNull()
    assert window.class_panel.visibility()[0] is False  # the background starts hidden ...
    pixels = overlay_pixels(window)
    assert (pixels[:, :64] == 0).all()  # ... so it shows the image as it is
    right = pixels[:, 64:]
    assert (right == HATCH_LIGHT).any() and (right == HATCH_DARK).any()
    box.setChecked(False)
    assert (overlay_pixels(window)[:, 64:] == 0).all()
    box.setChecked(True)
    window.class_panel.set_all(True)  # the background shown: black, still apart from the hatch
    pixels = overlay_pixels(window)
    assert (pixels[:, :64] == 0xFF000000).all() and (pixels[:, 64:] == HATCH_LIGHT).any()
