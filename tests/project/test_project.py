import sqlite3
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fcn_studio.cli import main
from fcn_studio.core.labels import LabelSet
from fcn_studio.core.mask_io import read_mask
from fcn_studio.project.project import DB_NAME, Project, ProjectError
from fcn_studio.project.schema import SCHEMA_VERSION


@pytest.fixture
def photos(tmp_path):
    root = tmp_path / "photos"
    (root / "day2").mkdir(parents=True)
    for name in ("a.jpg", "b.png", "day2/c.jpg"):
        Image.new("RGB", (32, 24), (10, 20, 30)).save(root / name)
    (root / "notes.txt").write_text("not an image")
    return root


def test_a_project_is_a_folder_with_a_wal_sqlite_file_and_masks(tmp_path):
    project = Project.create(tmp_path / "p")
    assert (tmp_path / "p" / DB_NAME).is_file() and (tmp_path / "p" / "masks").is_dir()
    db = sqlite3.connect(tmp_path / "p" / DB_NAME)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    project.close()
    with pytest.raises(ProjectError, match="already a project"):
        Project.create(tmp_path / "p")
    with pytest.raises(ProjectError, match="not a project"):
        Project.open(tmp_path)


def test_images_are_added_once_with_relative_paths_and_survive_reopening(tmp_path, photos):
    project = Project.create(tmp_path / "p", LabelSet(("bg", "fg")))
    result = project.add_images([photos, photos / "a.jpg", photos / "missing.jpg"])
    assert (result.added, result.already) == (3, 1) and result.skipped[0][1] == "no such file"
    assert [r.path for r in project.images()] == ["../photos/a.jpg", "../photos/b.png", "../photos/day2/c.jpg"]
    assert project.image_path(project.images()[0]) == (photos / "a.jpg").resolve()
    project.close()
    again = Project.open(tmp_path / "p")
    assert len(again.images()) == 3 and again.labels.names == ("bg", "fg")
    assert again.counts() == {"new": 3, "predicted": 0, "corrected": 0, "reviewed": 0}


def test_predictions_never_overwrite_a_corrected_mask(tmp_path, photos):
    project = Project.create(tmp_path / "p")
    project.add_images([photos])
    a, b = project.images()[:2]
    human = np.ones((24, 32), np.uint8)
    project.save_mask(a.id, human)
    pred = np.full((24, 32), 2, np.uint8)
    conf = np.full((24, 32), 0.4, np.float32)
    assert project.save_prediction(a.id, pred, conf, 0.6) is False
    assert (read_mask(project.mask_path(a.id)) == 1).all() and project.image(a.id).state == "corrected"
    assert project.save_prediction(b.id, pred, conf, 0.6) is True
    assert project.image(b.id).state == "predicted" and project.image(b.id).uncertainty == pytest.approx(0.6)
    assert abs(project.load_confidence(b.id).mean() - 0.4) < 0.01


def test_ranking_puts_the_least_certain_uncorrected_images_first(tmp_path, photos):
    project = Project.create(tmp_path / "p")
    project.add_images([photos])
    a, b, c = project.images()
    z = np.zeros((24, 32), np.uint8)
    project.save_prediction(a.id, z, z.astype(np.float32), 0.2)
    project.save_prediction(b.id, z, z.astype(np.float32), 0.9)
    assert [r.id for r in project.most_uncertain()] == [b.id, a.id, c.id]
    project.save_mask(b.id, z)
    assert [r.id for r in project.most_uncertain()] == [a.id, c.id]


def test_deleting_a_class_remaps_every_mask(tmp_path, photos):
    project = Project.create(tmp_path / "p", LabelSet(("bg", "cat", "dog")))
    project.add_images([photos])
    rec = project.images()[0]
    mask = np.array([[0, 1, 2, 255]], np.uint8).repeat(24, 0).repeat(8, 1)
    project.save_mask(rec.id, mask)
    # delete "cat": its pixels become ignore; "dog" moves from 2 to 1
    changed = project.change_labels(LabelSet(("bg", "dog")), {1: 255, 2: 1})
    assert changed == 1 and project.labels.names == ("bg", "dog")
    got = project.load_mask(rec.id)
    assert got[0, ::8].tolist() == [0, 255, 1, 255]
    assert not list((tmp_path / "p" / "masks").glob("*.relabel.png"))


def test_an_interrupted_label_change_finishes_on_the_next_open(tmp_path, photos):
    project = Project.create(tmp_path / "p", LabelSet(("bg", "cat", "dog")))
    project.add_images([photos])
    rec = project.images()[0]
    project.save_mask(rec.id, np.full((24, 32), 2, np.uint8))
    original = Project._finish_label_change_in
    Project._finish_label_change_in = lambda self, db: None  # the process "dies" right after the journal
    try:
        project.change_labels(LabelSet(("bg", "dog")), {1: 255, 2: 1})
    finally:
        Project._finish_label_change_in = original
    project.close()
    reopened = Project.open(tmp_path / "p")
    assert reopened.labels.names == ("bg", "dog") and (reopened.load_mask(rec.id) == 1).all()


def test_workers_write_from_their_own_threads(tmp_path, photos):
    project = Project.create(tmp_path / "p")
    project.add_images([photos])
    ids = [r.id for r in project.images()]
    errors = []

    def work(i):
        try:
            z = np.zeros((24, 32), np.uint8)
            project.save_prediction(i, z, z.astype(np.float32), 0.5)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and project.counts()["predicted"] == 3


def test_a_temporary_session_writes_nothing_beside_the_images(photos):
    before = sorted(p.name for p in photos.rglob("*"))
    session = Project.temporary_session()
    session.add_images([photos])
    root = session.root
    assert sorted(p.name for p in photos.rglob("*")) == before
    assert session.images()[0].path.startswith("/")
    session.close()
    assert not root.exists()


def test_a_project_from_a_newer_app_is_refused(tmp_path):
    Project.create(tmp_path / "p").close()
    db = sqlite3.connect(tmp_path / "p" / DB_NAME)
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(RuntimeError, match="newer FCN Studio"):
        Project.open(tmp_path / "p")


def test_cli_project_new_and_add(tmp_path, photos, capsys):
    names = tmp_path / "classes.txt"
    names.write_text("background\nplant\n")
    assert main(["project", "new", str(tmp_path / "p"), "--classes", str(names)]) == 0
    assert main(["project", "add", str(tmp_path / "p"), str(photos)]) == 0
    assert "3 added" in capsys.readouterr().out
    project = Project.open(tmp_path / "p")
    assert project.labels.names == ("background", "plant") and len(project.images()) == 3


def test_opening_never_removes_a_save_in_flight(tmp_path, photos):
    import os
    import time as _time

    project = Project.create(tmp_path / "p")
    fresh = project.root / "masks" / ".000001.png.abc.tmp"
    old = project.root / "masks" / ".000002.png.def.tmp"
    fresh.write_bytes(b"being written by another process")
    old.write_bytes(b"left by a killed process")
    os.utime(old, (_time.time() - 3600, _time.time() - 3600))
    project.close()
    Project.open(tmp_path / "p").close()
    assert fresh.exists() and not old.exists()


def test_the_sample_project_never_writes_into_an_existing_project_or_a_full_folder(tmp_path):
    from fcn_studio.project.errors import ProjectError
    from fcn_studio.project.sample import create_sample_project

    root = create_sample_project(tmp_path / "sample", count=3)
    project = Project.open(root)
    assert len(project.images()) == 3 and len(list((root / "ground_truth").iterdir())) == 3
    project.close()
    before = {p: p.stat().st_mtime_ns for p in root.rglob("*")}
    with pytest.raises(ProjectError, match="already a project"):
        create_sample_project(root, count=3)
    assert {p: p.stat().st_mtime_ns for p in root.rglob("*")} == before  # nothing rewritten
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("mine")
    with pytest.raises(ProjectError, match="not empty"):
        create_sample_project(tmp_path / "full", count=3)
    assert [p.name for p in (tmp_path / "full").iterdir()] == ["notes.txt"]


def test_slides_are_added_as_images_an_ome_zarr_folder_as_one_image(tmp_path):
    from tests.core.slide.conftest import halvings, photo, write_ome_zarr

    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    (data / "scan.svs").write_bytes(b"II*\0")
    write_ome_zarr(data / "sub" / "tissue.ome.zarr", halvings(photo(64, 64), 2), chunk=32)
    project = Project.create(tmp_path / "proj")
    assert project.add_images([data]).added == 2  # the zarr's chunk files are not images
    names = sorted(Path(r.path).name for r in project.images())
    assert names == ["scan.svs", "tissue.ome.zarr"]
    again = project.add_images([data / "sub" / "tissue.ome.zarr"])
    assert again.added == 0 and again.already == 1  # named directly, it is an image, not a folder
