"""The Training panel's hint says where the project stands, and follows it as images are labelled."""

import numpy as np
from PIL import Image

from fcn_studio.core.sample_data import SAMPLE_LABELS, sample_image
from fcn_studio.project.project import Project
from fcn_studio.ui.training.training_hint import training_hint
from tests.ui.conftest import wait_for_image


def test_hint_words_for_each_state():
    assert "Open or make a project" in training_hint(None)
    assert "make a project first" in training_hint({"new": 3}, temporary=True)
    assert training_hint({"new": 3, "predicted": 2}).startswith("Correct a few images")
    # scored from the first labelled image on (its held-out regions), not after the fifth
    assert training_hint({"corrected": 1}).startswith("1 labelled image: ready to train")
    assert training_hint({"corrected": 10, "reviewed": 3}).startswith("13 labelled images: ready to train")


def test_the_hint_follows_the_project(qtbot, window, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(15):
        Image.fromarray(sample_image(i, 48, 64)[0]).save(folder / f"img_{i:02d}.png")
    project = Project.create(tmp_path / "proj", SAMPLE_LABELS)
    project.add_images([folder])
    hint = window.training_panel.hint
    assert "Open or make a project" in hint.text()
    for rec in project.images()[1:13]:
        project.save_mask(rec.id, np.zeros((48, 64), np.uint8), "corrected")
    project.close()
    window.opening.open_paths([tmp_path / "proj"])
    wait_for_image(qtbot, window, "img_00.png")
    assert hint.text().startswith("12 labelled images: ready to train")
    assert "Correct a few images" not in hint.text()
    qtbot.waitUntil(lambda: window.session.editor is not None, timeout=5000)
    window.commands.mark("corrected")  # a 13th, marked in the window: the hint follows once it is saved
    qtbot.waitUntil(lambda: hint.text().startswith("13 labelled images"), timeout=10_000)
