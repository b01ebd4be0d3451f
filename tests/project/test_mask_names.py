"""Masks are named after their images (sub-folders kept), and projects made with id-named masks are
moved to the new names when they open, without losing or mixing a mask on a crash half-way."""

import os
import sqlite3

import numpy as np
import pytest
from PIL import Image

from fcn_studio.core.labels import LabelSet
from fcn_studio.core.mask_io import read_mask, write_mask
from fcn_studio.project.mask_names import mask_name_for
from fcn_studio.project.project import DB_NAME, Project
from fcn_studio.project.schema import MIGRATIONS

LABELS = LabelSet(("bg", "a", "b"))


def _image(path, size=(8, 6)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (9, 9, 9)).save(path)
    return path


@pytest.fixture
def photos(tmp_path):
    root = tmp_path / "p" / "photos"
    for name in ("sub/dir/img.jpg", "other/img.jpg", "a.jpg", "a.png", "A.PNG.jpeg"):
        _image(root / name)
    return root


def test_masks_and_predictions_are_named_after_the_image_with_its_folders(tmp_path, photos):
    project = Project.create(tmp_path / "p", LABELS)
    project.add_images([photos])
    names = {project.image(r.id).path: project.mask_path(r.id).relative_to(project.root).as_posix()
             for r in project.images()}
    assert names["photos/sub/dir/img.jpg"] == "masks/photos/sub/dir/img.png"
    assert names["photos/other/img.jpg"] == "masks/photos/other/img.png"  # equal names, other folders
    assert "masks/photos/a.png" in {names["photos/a.jpg"], names["photos/a.png"]}  # a.jpg beside a.png
    assert len({n.casefold() for n in names.values()}) == len(names)  # apart on a case-insensitive disk too
    rec = next(r for r in project.images() if r.path == "photos/sub/dir/img.jpg")
    project.save_mask(rec.id, np.ones((6, 8), np.uint8))
    project.save_prediction(rec.id, np.full((6, 8), 2, np.uint8), np.ones((6, 8), np.float32), 0.1)
    assert (project.root / "masks/photos/sub/dir/img.png").is_file()
    assert (project.root / "predictions/photos/sub/dir/img.png").is_file()
    assert (read_mask(project.root / "masks/photos/sub/dir/img.png") == 1).all()


def test_names_never_leave_the_folder_or_reach_hidden_ones():
    taken: set[str] = set()
    assert mask_name_for("../../data/x.jpg", taken) == "data/x.png"
    assert mask_name_for("/home/u/x.tif", taken) == "home/u/x.png"
    assert mask_name_for("C:/Users/u/x.jpg", taken) == "C/Users/u/x.png"
    assert mask_name_for(".journal/x.jpg", taken) == "_journal/x.png"


def _old_project(root, paths_and_states):
    """A project as FCN Studio wrote it before masks had names: schema 1, id-named files."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir()
    db = sqlite3.connect(root / DB_NAME, isolation_level=None)
    db.executescript(f"BEGIN; {MIGRATIONS[0]}; PRAGMA user_version = 1; COMMIT;")
    db.execute("INSERT INTO meta (key, value) VALUES ('labels', ?)", (__import__("json").dumps(LABELS.to_dict()),))
    db.execute("INSERT INTO meta (key, value) VALUES ('mask_layout', '2')")
    for path, state in paths_and_states:
        db.execute("INSERT INTO images (path, state) VALUES (?, ?)", (path, state))
    db.close()


def test_an_old_project_s_id_named_files_move_to_the_image_names_on_open(tmp_path):
    root = tmp_path / "old"
    _old_project(root, [("images/x.jpg", "corrected"), ("images/deep/y.jpg", "predicted"),
                        ("000001.png", "reviewed")])  # image 3's new name is image 1's old one
    for i, value in ((1, 1), (3, 2)):
        write_mask(root / "masks" / f"{i:06d}.png", np.full((6, 8), value, np.uint8), LABELS)
    write_mask(root / "predictions" / "000002.png", np.full((6, 8), 2, np.uint8), LABELS)
    project = Project.open(root)
    assert (read_mask(project.mask_path(1)) == 1).all() and project.mask_path(1) == root / "masks/images/x.png"
    assert (read_mask(project.prediction_path(2)) == 2).all()
    assert project.prediction_path(2) == root / "predictions/images/deep/y.png"
    assert (read_mask(project.mask_path(3)) == 2).all()  # its own mask, not image 1's
    assert project.mask_path(3).name != "000001.png"
    assert {r.id: r.state for r in project.images()} == {1: "corrected", 2: "predicted", 3: "reviewed"}
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*.png")) == sorted(
        ["masks/images/x.png", "predictions/images/deep/y.png", project.mask_path(3).relative_to(root).as_posix()])


def test_a_crash_half_way_through_the_move_loses_nothing(tmp_path):
    """Killed after moving image 1's file but before the names were committed: the next opening picks
    the same names, finds image 1's file already there and moves the rest."""
    root = tmp_path / "old"
    _old_project(root, [("images/x.jpg", "corrected"), ("images/y.jpg", "corrected")])
    for i in (1, 2):
        write_mask(root / "masks" / f"{i:06d}.png", np.full((6, 8), i, np.uint8), LABELS)
    (root / "masks" / "images").mkdir()
    os.replace(root / "masks" / "000001.png", root / "masks" / "images" / "x.png")  # the rename that happened
    project = Project.open(root)
    assert {r.id: r.state for r in project.images()} == {1: "corrected", 2: "corrected"}
    assert (read_mask(project.mask_path(1)) == 1).all() and (read_mask(project.mask_path(2)) == 2).all()
