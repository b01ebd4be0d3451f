"""The order in which images are predicted again: Qt-free, on a real project file."""

import numpy as np
from PIL import Image

from fcn_studio.core.labels import LabelSet
from fcn_studio.project.project import Project
from fcn_studio.workspace.next_image import next_to_label
from fcn_studio.workspace.prediction_order import NEXT_FEW, uncorrected_order


def _project(tmp_path, n=10):
    (tmp_path / "img").mkdir()
    for i in range(n):
        Image.new("RGB", (8, 6)).save(tmp_path / "img" / f"{i:02d}.png")
    project = Project.create(tmp_path / "p", LabelSet(("bg", "cell")))
    project.add_images([tmp_path / "img"])
    return project


def test_least_certain_first_and_never_a_persons_mask(tmp_path):
    project = _project(tmp_path, 4)
    ids = [r.id for r in project.images()]
    for image_id, uncertainty in zip(ids, (0.1, 0.9, 0.5, 0.3), strict=True):
        project.save_prediction(image_id, np.zeros((6, 8), np.uint8), np.ones((6, 8), np.float32), uncertainty)
    project.save_mask(ids[1], np.ones((6, 8), np.uint8))  # a person's: never predicted again
    assert uncorrected_order(project) == [ids[2], ids[3], ids[0]]
    assert next_to_label(project, ids[2]).image_id == ids[3]
    project.close()


def test_screen_first_puts_the_image_on_screen_and_the_next_few_ahead(tmp_path):
    project = _project(tmp_path, 10)
    ids = [r.id for r in project.images()]
    order = uncorrected_order(project, ids[2], screen_first=True)
    assert order[:1 + NEXT_FEW] == ids[2:3 + NEXT_FEW] and sorted(order) == sorted(ids)
    touched = uncorrected_order(project, ids[2], screen_first=True, untouched=lambda i: i != ids[2])
    assert touched[:NEXT_FEW] == ids[3:3 + NEXT_FEW]  # the person is painting on it: not predicted first
    project.close()
