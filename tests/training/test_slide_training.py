"""A whole slide with a few corrected regions is a training set: its labelled windows become training
items (image crops read from the slide's tiles, masks from its label pyramid), refreshed when the labels
change and dropped when they are erased, and the training backend trains and validates on them."""

import numpy as np

from fcn_studio.core.labels import LabelSet
from fcn_studio.core.mask_io import read_mask
from fcn_studio.core.slide import open_slide
from fcn_studio.project.project import Project
from fcn_studio.project.slide_crops import WINDOW, crops_folder
from fcn_studio.training.data import project_source
from fcn_studio.workspace.slide_editing import SlideEditing
from tests.core.slide.conftest import halvings, photo, write_tiff
from tests.training.conftest import run_backend

LABELS = LabelSet(("background", "thing"))


def _slide_project(tmp_path):
    slide_file = write_tiff(tmp_path / "scan.tif", halvings(photo(2048, 3072), 3), tile=(256, 256))
    project = Project.create(tmp_path / "proj", LABELS)
    project.add_images([slide_file])
    slide = SlideEditing(project, 1, (2048, 3072))
    slide.paint([(200.0, 300.0), (600.0, 300.0)], 120, 1)  # in window (0, 0)
    slide.paint([(2500.0, 1500.0)], 300, 1)  # in window (1, 2)
    slide.paint([(2500.0, 1500.0)], 500, 0, name="background")
    slide.paint([(2500.0, 1500.0)], 300, 1)
    assert slide.close()
    return project, slide_file


def test_a_slides_labelled_windows_are_its_training_items_refreshed_when_labels_change(tmp_path):
    project, slide_file = _slide_project(tmp_path)
    source = project_source(project.root)
    items = source.train + [i for i in source.val if i.part == "whole"]
    keys = sorted({i.key for i in items})
    assert keys == ["1@0,0", f"1@{WINDOW},{2 * WINDOW}"]  # two windows of the slide's six
    with open_slide(slide_file) as slide:
        crop = next(i for i in items if i.key == "1@0,0")
        from fcn_studio.core.image_io import load_image

        assert np.array_equal(load_image(crop.image), slide.read_region(0, (0, 0, WINDOW, WINDOW)))
        mask = read_mask(crop.mask)
        assert mask.shape == (WINDOW, WINDOW) and mask[300, 400] == 1 and mask[800, 800] == 255
    project.close()
    project = Project(project.root)
    again = SlideEditing(project, 1, (2048, 3072))
    again.paint([(2500.0, 1500.0)], 600, 255, name="eraser")  # that window's labels all erased
    again.paint([(400.0, 300.0)], 40, 0)
    assert again.close()
    items = project_source(project.root).train
    assert sorted({i.key for i in items}) == ["1@0,0"]
    assert read_mask(items[0].mask)[300, 400] == 0  # the new stroke is in the window's mask
    assert len(list(crops_folder(project, 1).glob("*.png"))) == 2  # the erased window's files are gone


def test_the_training_backend_trains_and_validates_on_a_slides_windows(tmp_path):
    project, _slide_file = _slide_project(tmp_path)
    project.close()
    out = tmp_path / "model.safetensors"
    proc, events = run_backend([tmp_path / "proj", "--out", out, "--backbone", "resnet18", "--weights", "none",
                                "--crop", "64", "--batch-size", "2", "--iterations", "2", "--device", "cpu"])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert out.is_file()
    started = next(e for e in events if e["event"] == "started")
    assert started["train_images"] == 2  # both windows train (one slide: its held-out regions validate)
    validated = [e for e in events if e["event"] == "validation"]
    assert validated and validated[-1]["mean_iu"] is not None
    assert not [e for e in events if e["event"] == "warning" and "skipped" in e]  # nothing unreadable
