"""The image N offers next: among the few the model is least sure of, the one least like what the person
has corrected, so the same kind of image is not asked for again and again. A real project file, real
PNGs, real predictions stored through the project."""

import numpy as np
from PIL import Image

from fcn_studio.core.labels import LabelSet
from fcn_studio.project.project import Project
from fcn_studio.workspace.next_image import next_to_label


def _project(tmp_path, looks):
    """One image per entry of `looks`: ("dark" | "bright", uncertainty of its prediction)."""
    (tmp_path / "img").mkdir()
    for i, (kind, _) in enumerate(looks):
        value = 20 if kind == "dark" else 230
        Image.new("RGB", (16, 12), (value, value, value)).save(tmp_path / "img" / f"{i:02d}.png")
    project = Project.create(tmp_path / "p", LabelSet(("bg", "cell")))
    project.add_images([tmp_path / "img"])
    ids = [r.id for r in project.images()]
    for image_id, (kind, uncertainty) in zip(ids, looks, strict=True):
        labels = np.zeros((12, 16), np.uint8) if kind == "dark" else np.ones((12, 16), np.uint8)
        project.save_prediction(image_id, labels, np.full((12, 16), 1 - uncertainty, np.float32), uncertainty)
    return project, ids


def test_the_next_image_is_uncertain_and_unlike_the_ones_corrected(tmp_path):
    # four dark images the model is least sure of, a bright one a little more sure, a sure bright one
    project, ids = _project(tmp_path, [("dark", 0.9), ("dark", 0.85), ("dark", 0.8), ("dark", 0.75),
                                       ("bright", 0.6), ("bright", 0.05)])
    first = next_to_label(project)
    assert first.image_id == ids[0] and "least sure" in first.reason  # nothing corrected yet: uncertainty
    project.save_mask(ids[0], np.zeros((12, 16), np.uint8))  # the person corrects a dark one
    chosen = next_to_label(project)
    # not the next dark image (0.85): the bright one among the five least sure, never the sure one
    assert chosen.image_id == ids[4]
    assert "least like the 1 image corrected so far" in chosen.reason
    project.save_mask(ids[4], np.ones((12, 16), np.uint8))
    assert next_to_label(project).image_id == ids[1]  # both kinds seen: the least sure again
    assert next_to_label(project, current_id=ids[1]).image_id != ids[1]  # never the image on screen
    project.close()


def test_before_any_prediction_it_says_it_follows_the_names(tmp_path):
    (tmp_path / "img").mkdir()
    for i in range(3):
        Image.new("RGB", (8, 8)).save(tmp_path / "img" / f"{i:02d}.png")
    project = Project.create(tmp_path / "p", LabelSet(("bg", "cell")))
    project.add_images([tmp_path / "img"])
    chosen = next_to_label(project)
    assert chosen.image_id == project.images()[0].id and "name order" in chosen.reason
    project.close()
