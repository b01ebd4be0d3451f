"""A one-shot run while the person works: an image undone back to its prediction during a run with "New
corrections join the run" no longer ends it (the run is compared and recorded as any other), and a run
whose process dies anyway still has its best model so far compared and offered, with the reason in the
app's log."""

import logging
import threading
from pathlib import Path

from fcn_studio.project.project import Project
from fcn_studio.workspace import RunOptions, Workspace
from tests.training.conftest import easy_project

TINY = ["--backbone", "resnet18", "--weights", "none", "--crop", "32", "--batch-size", "4", "--lr", "0.01"]


def _workspace(tmp_path) -> tuple[Workspace, list, list, threading.Event]:
    ws = Workspace()
    ws.device = "cpu"
    ws.open(Project.open(tmp_path / "p"))
    events, failures, compared = [], [], threading.Event()
    ws.runs.event.connect(events.append)
    ws.runs.failed.connect(lambda *a: failures.append(a))
    ends = ("Kept the model", "Swapped in", "Made it", "could not be scored", "Not swapped")
    ws.runs.status.connect(lambda text: any(end in text for end in ends) and compared.set())
    return ws, events, failures, compared


def _recorded(ws) -> list[str]:
    return [r["note"] for r in ws.project.model_runs()]


def test_undoing_a_correction_during_a_following_run_does_not_end_it(tmp_path):
    project, _, _ = easy_project(tmp_path, 10, 10)
    train = [i for i, side in project.training_split().items() if side != "val"]
    project.close()
    ws, events, failures, compared = _workspace(tmp_path)

    def undo(event: dict) -> None:  # Ctrl+Z on a correction: the image is "predicted" again, its mask gone
        if event["event"] == "started":
            ws.project.revert_mask(train[0])

    ws.runs.event.connect(undo)
    assert ws.runs.start_run(RunOptions([*TINY, "--epochs", "2", "--follow"], backbone="resnet18")) is None
    assert compared.wait(300), (failures, events[-3:])
    assert ws.runs.wait(30)
    assert failures == []
    assert events[-1]["event"] == "finished"
    assert any(e["event"] == "warning" for e in events)
    assert _recorded(ws)[0] in ("better", "not better")  # compared, and offered when better
    ws.close()


def test_a_run_whose_process_dies_still_has_its_best_model_compared_and_the_reason_logged(tmp_path, caplog):
    project, _, _ = easy_project(tmp_path, 10, 10)
    project.close()
    ws, events, failures, compared = _workspace(tmp_path)
    caplog.set_level(logging.WARNING, logger="fcn_studio.workspace.runs")
    saved, said = threading.Event(), []
    ws.runs.status.connect(said.append)
    ws.runs.event.connect(lambda e: e["event"] == "checkpoint" and Path(e["path"]) == ws.runs.checkpoint
                          and saved.set())  # the run's best model so far is on disk
    assert ws.runs.start_run(RunOptions([*TINY, "--iterations", "100000"], backbone="resnet18")) is None
    assert saved.wait(300), events[-3:]
    ws.runs.backend.process.kill()  # as the out-of-memory killer would
    assert compared.wait(120), (failures, said)
    assert [title for title, *_ in failures] == ["Training failed"]
    assert "was killed" in failures[0][1]
    assert _recorded(ws)[0] in ("better", "not better")  # its best model so far, compared
    assert any("training failed" in r.getMessage() and "was killed" in r.getMessage() for r in caplog.records)
    ws.close()
