"""A temporary session saved as a project: everything a person made comes along, paths are made
relative to the new home, and a failure half-way leaves no half project and the session intact."""

import os

import numpy as np
import pytest
from PIL import Image

from fcn_studio.core.labels import LabelSet
from fcn_studio.project import save_as as save_as_module
from fcn_studio.project.project import Project, ProjectError
from fcn_studio.project.save_as import save_as

LABELS = LabelSet(("bg", "a", "b"))


@pytest.fixture
def session(tmp_path):
    photos = tmp_path / "home" / "photos"
    (photos / "sub").mkdir(parents=True)
    for name in ("x.jpg", "sub/y.png"):
        Image.new("RGB", (8, 6), (1, 2, 3)).save(photos / name)
    project = Project.temporary_session(LABELS)
    project.add_images([photos])
    x, y = sorted(project.images(), key=lambda r: r.name)
    project.save_mask(x.id, np.ones((6, 8), np.uint8), "reviewed")
    project.save_prediction(y.id, np.full((6, 8), 2, np.uint8), np.ones((6, 8), np.float32), 0.5)
    (project.root / "models").mkdir()
    (project.root / "models" / "default.safetensors").write_bytes(b"weights")
    project.set_model_path(project.root / "models" / "default.safetensors")
    project.record_model_run(project.root / "models" / "default.safetensors", {}, "default model")
    yield project
    project.close()


def test_the_session_becomes_a_project_with_its_masks_states_and_model(session, tmp_path):
    target = save_as(session, tmp_path / "home" / "labelled")
    project = Project.open(target)
    recs = {r.path: r for r in project.images()}
    assert set(recs) == {"../photos/x.jpg", "../photos/sub/y.png"}
    x, y = recs["../photos/x.jpg"], recs["../photos/sub/y.png"]
    assert (x.state, y.state) == ("reviewed", "predicted")
    assert project.mask_path(x.id) == target / "masks" / "photos" / "x.png"
    assert (project.load_mask(x.id) == 1).all() and (project.load_prediction(y.id) == 2).all()
    assert project.prediction_path(y.id) == target / "predictions" / "photos" / "sub" / "y.png"
    assert project.model_path == target / "models" / "default.safetensors" and project.model_path.is_file()
    assert project.model_runs()[0]["checkpoint"] == project.model_path
    assert not [p for p in target.iterdir() if p.name.endswith(".tmp")] and (session.root / "masks").is_dir()
    assert not list(target.parent.glob(".labelled*"))  # the staging folder is gone


def test_a_folder_with_project_files_is_refused(session, tmp_path):
    (tmp_path / "busy" / "masks").mkdir(parents=True)
    with pytest.raises(ProjectError, match="masks"):
        save_as(session, tmp_path / "busy")
    with pytest.raises(ProjectError, match="outside"):
        save_as(session, session.root / "inside")


def test_a_failure_before_the_database_lands_leaves_no_project_and_the_session_whole(session, tmp_path, monkeypatch):
    real = os.replace

    def failing(src, dst):
        if str(dst).endswith("project.sqlite"):
            raise OSError(28, "No space left on device")
        real(src, dst)

    monkeypatch.setattr(save_as_module.os, "replace", failing)
    with pytest.raises(OSError):
        save_as(session, tmp_path / "new")
    assert not Project.is_project(tmp_path / "new")
    assert not list(tmp_path.glob(".new*"))
    assert session.counts()["reviewed"] == 1 and (session.load_mask(session.images(state="reviewed")[0].id) == 1).all()
