"""Every writer of a mask (the person's autosave, predictions, imports) in threads and in processes at
once: the person's mask is never replaced by a prediction, and the database and the files agree."""

import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
from PIL import Image

from fcn_studio.project.project import Project
from tests.project.hammer_child import SHAPE

ROOT = Path(__file__).resolve().parents[2]


def _project(tmp_path, n):
    (tmp_path / "img").mkdir()
    for i in range(n):
        Image.new("RGB", SHAPE[::-1]).save(tmp_path / "img" / f"{i:03d}.png")
    project = Project.create(tmp_path / "p")
    project.add_images([tmp_path / "img"])
    return project


def _disagreements(project, human_ids):
    """Images whose state, file and pixels do not tell the same story."""
    bad = []
    for rec in project.images():
        mask = project.load_mask(rec.id)
        if rec.id in human_ids:
            if rec.state != "corrected" or mask is None or not (mask == 2 + rec.id % 50).all():
                bad.append((rec.id, rec.state, None if mask is None else int(mask.max())))
        elif rec.state != "predicted" or mask is not None:
            bad.append((rec.id, rec.state, None if mask is None else int(mask.max())))
    return bad


def test_threads_a_prediction_never_replaces_a_persons_mask(tmp_path):
    project = _project(tmp_path, 1)
    image_id = project.images()[0].id
    pred = np.full(SHAPE, 1, np.uint8)
    conf = np.ones(SHAPE, np.float32)
    disagreements = []
    for _ in range(40):
        project.revert_mask(image_id)
        project.save_prediction(image_id, pred, conf, 0.5)
        stop = threading.Event()

        def model(stop=stop):
            while not stop.is_set():
                project.save_prediction(image_id, pred, conf, 0.5)

        worker = threading.Thread(target=model)
        worker.start()
        project.save_mask(image_id, np.full(SHAPE, 2 + image_id % 50, np.uint8))
        for _ in range(3):  # a few more predictions land after the person's save
            project.save_prediction(image_id, pred, conf, 0.5)
        stop.set()
        worker.join()
        disagreements += _disagreements(project, {image_id})
    assert disagreements == []
    project.close()


def test_processes_the_app_an_import_and_training_touch_one_project(tmp_path):
    project = _project(tmp_path, 24)
    ids = [r.id for r in project.images()]
    project.close()
    log = tmp_path / "person.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    roles = ["model-a", "model-b", "person"]
    children = [subprocess.Popen([sys.executable, "-m", "tests.project.hammer_child", str(tmp_path / "p"), role,
                                  "4", str(log)], cwd=ROOT, env=env) for role in roles]
    for child in children:
        assert child.wait(120) == 0
    project = Project.open(tmp_path / "p")
    saved = {int(line) for line in log.read_text().split()}
    assert saved == set(ids)
    assert _disagreements(project, saved) == []
    project.close()
