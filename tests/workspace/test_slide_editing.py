"""Painting on a whole slide: strokes go to the slide's label pyramid region by region (never a whole
mask in memory), are read back at every level before and after they reach the chunks, undo and redo
exactly, keep the preserve rule, mark the image corrected once written, and survive a kill -9 between
the stroke and its write (the next opening of the project replays them)."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fcn_studio.core.editing.mask_editor import Preserve
from fcn_studio.project.label_pyramid import LabelPyramid
from fcn_studio.project.project import Project
from fcn_studio.workspace.slide_editing import SlideEditing, stroke_footprint
from tests.workspace import slide_child

SHAPE = (4000, 5000)


@pytest.fixture
def project(tmp_path):
    image = tmp_path / "scan.svs"
    image.write_bytes(b"")  # the record is all the editor needs; the canvas reads the pixels
    project = Project.create(tmp_path / "proj")
    assert project.add_images([image]).added == 1
    return project


def test_a_stroke_is_read_back_at_every_level_before_and_after_it_is_written(project):
    slide = SlideEditing(project, 1, SHAPE, autosave_delay=3600)
    assert (slide.labels(0, (0, 0, 10, 10)) == 255).all()  # nobody painted: unlabelled, nothing on disk
    assert not project.mask_pyramid_path(1).exists()
    edit = slide.paint([(1000.0, 1000.0), (1400.0, 1000.0)], 50, 3)
    assert edit is not None and slide.unsaved
    rect, fp = stroke_footprint([(1000.0, 1000.0), (1400.0, 1000.0)], 50, SHAPE)
    assert (slide.labels(0, rect)[fp] == 3).all()
    assert slide.labels(2, (250, 250, 251, 251))[0, 0] == 3  # level 2 pixel (250, 250) is (1000, 1000)
    assert project.image(1).state == "new"  # journalled, not yet written: not called corrected
    assert slide.flush(10) and not slide.unsaved
    on_disk = LabelPyramid.open(project.mask_pyramid_path(1))
    assert (on_disk.read(0, rect)[fp] == 3).all() and on_disk.read(2, (250, 250, 251, 251))[0, 0] == 3
    chunks = {tuple(int(v) for v in p.relative_to(project.mask_pyramid_path(1) / "0").parts)
              for p in (project.mask_pyramid_path(1) / "0").rglob("*") if p.is_file() and not p.name.startswith(".")}
    assert chunks == set(on_disk.chunks_of(0, edit.rect)) and len(chunks) == 4  # of the slide's 80
    assert project.image(1).state == "corrected"
    assert slide.close()
    reopened = Project(project.root)
    assert reopened.image(1).state == "corrected"  # a pyramid is a person's mask: kept at reconcile


def test_undo_and_redo_bring_back_the_region_exactly(project):
    slide = SlideEditing(project, 1, SHAPE)
    slide.paint([(500.0, 500.0)], 80, 1)
    region = (400, 400, 700, 700)
    first = slide.labels(0, region)
    slide.paint([(450.0, 450.0), (650.0, 650.0)], 30, 2)
    second = slide.labels(0, region)
    assert slide.undo().name == "brush" and np.array_equal(slide.labels(0, region), first)
    assert slide.redo() is not None and np.array_equal(slide.labels(0, region), second)
    slide.undo()
    slide.undo()
    assert (slide.labels(0, region) == 255).all() and slide.undo() is None
    assert slide.close()
    assert (LabelPyramid.open(project.mask_pyramid_path(1)).read(0, region) == 255).all()


def test_the_eraser_unlabels_and_the_preserve_rule_holds(project):
    slide = SlideEditing(project, 1, SHAPE)
    slide.paint([(100.0, 100.0)], 60, 1)
    slide.paint([(130.0, 100.0)], 60, 2, Preserve("unlabelled"))
    row = slide.labels(0, (100, 60, 101, 170))[0]
    assert row[40] == 1 and row[90] == 2  # class 1 kept under the second stroke, the rest painted
    slide.paint([(100.0, 100.0)], 20, 255, name="eraser")
    assert slide.labels(0, (100, 100, 101, 101))[0, 0] == 255
    assert slide.paint([(-500.0, -500.0)], 20, 1) is None  # outside the slide: nothing, no error
    assert slide.close()


def test_strokes_journalled_before_a_kill_are_in_the_pyramid_when_the_project_opens_again(project):
    child = subprocess.Popen([sys.executable, "-m", "tests.workspace.slide_child", str(project.root)],
                             stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2])
    try:
        assert child.stdout.readline().strip() == "ready"
    finally:
        child.kill()  # SIGKILL on POSIX, TerminateProcess on Windows: no cleanup runs
        child.wait(30)
        child.stdout.close()
    pyramid = LabelPyramid.open(project.mask_pyramid_path(1))
    assert (pyramid.read(0, (0, 0, 4000, 5000)) == 255).all()  # the writer never wrote them
    reopened = Project(project.root)
    assert reopened.restored == [1] and reopened.image(1).state == "corrected"
    pyramid = LabelPyramid.open(project.mask_pyramid_path(1))
    for points, diameter, value in slide_child.STROKES:
        rect, fp = stroke_footprint(points, diameter, SHAPE)
        assert (pyramid.read(0, rect)[fp] == value).all()
    assert not any((project.root / "masks" / ".slide-journal").iterdir())  # replayed, then gone


def test_a_class_change_remaps_a_slides_labels_at_every_level(project):
    from fcn_studio.core.labels import LabelSet

    slide = SlideEditing(project, 1, SHAPE)
    slide.paint([(1000.0, 1000.0)], 100, 1)
    slide.paint([(3000.0, 3000.0)], 100, 2)
    assert slide.close()
    old = project.labels
    labels = LabelSet((old.names[0], old.names[2], "new"))  # class 1 dropped (unlabelled), 2 becomes 1
    project.change_labels(labels, {0: 0, 1: 255, 2: 1})
    pyramid = LabelPyramid.open(project.mask_pyramid_path(1))
    assert pyramid.read(0, (1000, 1000, 1001, 1001))[0, 0] == 255
    assert pyramid.read(0, (3000, 3000, 3001, 3001))[0, 0] == 1
    assert pyramid.read(3, (375, 375, 376, 376))[0, 0] == 1  # the coarser levels too
    assert not list(project.mask_pyramid_path(1).parent.glob(".*relabel*"))


def test_a_polygon_fills_its_inside_and_one_too_large_for_one_step_is_refused(project):
    slide = SlideEditing(project, 1, SHAPE)
    edit = slide.fill_polygon([(100.0, 100.0), (300.0, 100.0), (300.0, 300.0), (100.0, 300.0)], 2)
    assert edit.name == "polygon" and (slide.labels(0, (110, 110, 290, 290)) == 2).all()
    assert slide.labels(0, (350, 350, 351, 351))[0, 0] == 255
    with pytest.raises(ValueError, match="draw it in parts"):
        slide.fill_polygon([(0.0, 0.0), (5000.0, 0.0), (5000.0, 4000.0)], 1, name="lasso")  # 20 megapixels: fine
        slide.shape = (40_000, 40_000)
        slide.fill_polygon([(0.0, 0.0), (20_000.0, 0.0), (20_000.0, 20_000.0)], 1)  # 400 megapixels
    assert slide.close()
