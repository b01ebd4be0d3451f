"""The run service without a window: keep learning's versions are in the project's one model history
(an old history.json comes in once), a run is refused while keep learning holds the project, and
stop_all ends every backend without waiting and says when."""

import json
import threading

from fcn_studio.project.model_versions import versions
from fcn_studio.project.project import Project
from fcn_studio.workspace import RunOptions, Workspace
from fcn_studio.workspace.runs import KEEP_BUSY
from tests.training.conftest import easy_project

TINY = ["--backbone", "resnet18", "--weights", "none", "--crop", "32", "--batch-size", "4", "--lr", "0.01"]


def _old_history(root):
    folder = root / "models" / "keep"
    folder.mkdir(parents=True)
    old = []
    for n, (iu, was) in enumerate([(0.4, None), (0.6, 0.4)], start=1):
        (folder / f"v{n}.safetensors").write_bytes(b"weights")
        old.append({"version": n, "path": str(folder / f"v{n}.safetensors"), "trained_images": 8 + n,
                    "val_images": 2, "mean_iu": iu, "previous_mean_iu": was, "time": 1_700_000_000.0 + n})
    (folder / "history.json").write_text(json.dumps(old))
    return folder


def test_an_old_keep_history_comes_into_the_model_history_once(tmp_path):
    project, _, _ = easy_project(tmp_path, 4, 2)
    folder = _old_history(project.root)
    project.set_model_path(folder / "v2.safetensors")
    project.close()
    ws = Workspace()
    ws.open(Project.open(tmp_path / "p"))
    found = ws.runs.keep_versions()
    assert [(v.version, v.mean_iu, v.previous_mean_iu, v.trained_images) for v in found] == [
        (1, 0.4, None, 9), (2, 0.6, 0.4, 10)]
    assert ws.runs.keep_in_use.version == 2  # the project's model is v2
    notes = [r["note"] for r in ws.project.model_runs()]  # what Model > Model History lists
    assert notes == ["keep learning v2", "keep learning v1"]
    assert not (folder / "history.json").exists() and (folder / "history.json.imported").is_file()
    ws.open(Project.open(tmp_path / "p"))  # opened again: nothing twice
    assert len(ws.project.model_runs()) == 2 and len(versions(ws.project)) == 2
    ws.close()


def _keep_learning_workspace():
    """A workspace on the CPU with a tiny keep-learning backend; what keep learning says, and an event set
    once it says "learning"."""
    ws = Workspace()
    ws.device = "cpu"
    ws.runs.keep_args = TINY
    said = []
    learning = threading.Event()
    ws.runs.keep_status.connect(lambda text: (said.append(text), text == "learning" and learning.set()))
    return ws, said, learning


def test_a_run_is_refused_while_keep_learning_holds_the_project_and_stop_all_ends_it(tmp_path):
    project, _, _ = easy_project(tmp_path, 10, 10)
    project.set_keep_learning(True)
    project.close()
    ws, said, learning = _keep_learning_workspace()
    ws.open(Project.open(tmp_path / "p"))  # switched on in the project: the loop starts
    assert ws.runs.loop is not None
    assert learning.wait(180), said
    assert (tmp_path / "p" / "training.lock").exists()
    assert ws.runs.start_run(RunOptions(["--iterations", "5"])) == KEEP_BUSY  # one backend per project
    assert not ws.runs.running and ws.project.model_runs() == []  # nothing started, no failed run
    done = threading.Event()
    ws.runs.stop_all(done.set)  # returns at once
    assert ws.runs.loop is None
    assert done.wait(30) and not ws.runs.active
    assert not (tmp_path / "p" / "training.lock").exists()
    ws.close()


def test_keep_learning_switched_on_before_any_correction_starts_ready_and_says_so(tmp_path):
    """The backend starts with the switch (imports and model take the most time on a small CPU) and learns
    from the first correction, instead of starting only then."""
    project, recs, truth = easy_project(tmp_path, 6, 0)
    ws, said, learning = _keep_learning_workspace()
    ws.open(project)
    ws.runs.set_keep_learning(True)
    assert ws.runs.loop is not None and ws.runs.loop.running  # started with nothing corrected yet
    assert said[-1] == "ready: learning starts with the first corrected image"
    project.save_mask(recs[0].id, truth[recs[0].id])  # the first correction
    assert learning.wait(180), said
    done = threading.Event()
    ws.runs.stop_all(done.set)
    assert done.wait(60)
    ws.close()
