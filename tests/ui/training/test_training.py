"""Training from the window: the panel drives a real backend process; a better model is swapped in;
a killed training process is reported and nothing is lost."""

import os
import signal

import numpy as np
import pytest
import torch

from fcn_studio.model.checkpoint import load_checkpoint, save_checkpoint
from fcn_studio.model.factory import new_model
from fcn_studio.project.project import Project
from tests.training.conftest import EASY, write_easy_voc
from tests.ui.conftest import wait_for_image

SHORT = ["--iterations", "30", "--crop", "48", "--batch-size", "4", "--lr", "0.01", "--device", "cpu"]


def make_labelled_project(tmp_path, name: str = "proj"):
    voc = write_easy_voc(tmp_path / f"voc-{name}", count=8)
    project = Project.create(tmp_path / name, EASY)
    project.add_images([voc / "JPEGImages"])
    from fcn_studio.core.mask_io import read_mask

    for rec in project.images()[:6]:
        project.save_mask(rec.id, read_mask(voc / "SegmentationClass" / f"{rec.name[:-4]}.png"))
    torch.manual_seed(0)
    model, info, _ = new_model("fcn8s", "resnet18", EASY, weights=None)  # untrained: predicts nothing useful
    start = tmp_path / name / "models" / "start.safetensors"
    save_checkpoint(start, model, info)
    project.set_model_path(start)
    project.close()
    return tmp_path / name


@pytest.fixture
def labelled_project(tmp_path):
    return make_labelled_project(tmp_path)


def test_the_panel_trains_and_a_better_model_is_swapped_in(qtbot, window, labelled_project):
    window.opening.open_paths([labelled_project])
    wait_for_image(qtbot, window, ".png")
    qtbot.waitUntil(lambda: window.worker.predictor is not None, timeout=30_000)
    window.training_panel.arguments = lambda: SHORT
    window.training_panel.start.click()
    assert window.training.running and not window.training_panel.start.isEnabled()
    with qtbot.waitSignal(window.training.model_improved, timeout=120_000) as swapped:
        pass
    new_path = swapped.args[0]
    qtbot.waitUntil(lambda: window.status.model.text() == os.path.basename(new_path), timeout=30_000)
    assert window.training_panel.iu_curve.getData()[0] is not None  # the plot was drawn
    assert window.training_panel.per_class.rowCount() == 2
    project = Project.open(labelled_project)
    assert str(project.model_path) == new_path
    runs = project.model_runs()
    assert runs[0]["note"] == "better" and runs[0]["metrics"]["mean_iu"] > runs[0]["metrics"]["previous_mean_iu"]
    # the uncorrected images are predicted again with the new model
    qtbot.waitUntil(lambda: Project.open(labelled_project).counts()["predicted"] == 2, timeout=60_000)


def test_a_run_belongs_to_the_project_that_started_it(qtbot, window, labelled_project, tmp_path):
    other = make_labelled_project(tmp_path, "other")
    other_model = Project.open(other).model_path
    window.opening.open_paths([labelled_project])
    wait_for_image(qtbot, window, ".png")
    window.training_panel.arguments = lambda: SHORT
    window.training_panel.start.click()
    qtbot.waitUntil(lambda: window.workspace.runs.pid() != 0, timeout=30_000)  # started, after saving
    window.opening.open_paths([other])  # the person moves on to another project while the run goes on
    qtbot.waitUntil(lambda: window.project is not None and window.project.root.resolve() == other.resolve(),
                    timeout=30_000)
    qtbot.waitUntil(lambda: not window.training.running, timeout=120_000)
    qtbot.waitUntil(lambda: len(Project.open(labelled_project).model_runs()) == 1, timeout=60_000)
    run = Project.open(labelled_project).model_runs()[0]
    assert run["note"] == "better" and run["metrics"]["mean_iu"] is not None
    assert str(Project.open(labelled_project).model_path) == str(run["checkpoint"])  # auto swap, in its project
    assert window.project.model_runs() == [] and window.project.model_path == other_model  # untouched


def test_a_killed_training_process_is_reported_and_nothing_is_lost(qtbot, window, labelled_project):
    window.opening.open_paths([labelled_project])
    wait_for_image(qtbot, window, ".png")
    window.training_panel.arguments = lambda: ["--iterations", "100000", "--crop", "48", "--batch-size", "4",
                                               "--device", "cpu"]
    checkpoints = []
    window.training.event.connect(lambda e: checkpoints.append(e) if e["event"] == "checkpoint" else None)
    window.training.start()
    qtbot.waitUntil(lambda: len(checkpoints) >= 1, timeout=120_000)
    with qtbot.waitSignal(window.training.ended, timeout=30_000) as ended:
        os.kill(window.workspace.runs.pid(), signal.SIGKILL)
    succeeded, message = ended.args
    assert not succeeded and "killed" in message and "last checkpoint is kept" in message
    assert window.isVisible() and window.training_panel.start.isEnabled()
    assert "failed" in window.training_panel.status.text()
    model, info = load_checkpoint(checkpoints[-1]["path"])  # intact
    assert info.provenance["iterations"] > 0
    project = Project.open(labelled_project)
    assert project.counts()["corrected"] == 6  # nothing lost


def test_training_needs_corrected_images(qtbot, window, tmp_path, photo_folder):
    window.answers = [True]
    window.opening.open_paths([photo_folder])
    qtbot.waitUntil(lambda: window.project is not None and not window.project.temporary, timeout=10_000)
    window.training.start()
    assert not window.training.running


def test_model_history_rolls_back(qtbot, window, labelled_project):
    from fcn_studio.ui.models.model_history import ModelHistoryDialog

    project = Project.open(labelled_project)
    start = project.model_path
    project.record_model_run(start, {"mean_iu": 0.1}, "start")
    other = labelled_project / "models" / "other.safetensors"
    model, info = load_checkpoint(start)
    save_checkpoint(other, model, info)
    project.record_model_run(other, {"mean_iu": 0.5}, "better")
    project.close()
    window.opening.open_paths([labelled_project])
    qtbot.waitUntil(lambda: window.worker.predictor is not None, timeout=30_000)
    runs = window.project.model_runs()
    dialog = ModelHistoryDialog(runs, window.project.model_path, window)
    qtbot.addWidget(dialog)
    dialog.choose(1)  # the older one
    assert dialog.chosen == start
    window.workspace.request_model(dialog.chosen)
    qtbot.waitUntil(lambda: window.status.model.text() == start.name, timeout=30_000)
    assert np.isfinite(runs[0]["metrics"]["mean_iu"])


def _start_a_minute_run(qtbot, window, project) -> list[dict]:
    """Opens `project` and starts a 60-second run from the Training panel; returns its progress events."""
    window.opening.open_paths([project])
    wait_for_image(qtbot, window, ".png")
    window.training_panel.arguments = lambda: ["--time-limit", "60", "--iterations", "1000000", "--crop", "48",
                                               "--batch-size", "4", "--device", "cpu"]
    progress = []
    window.training.event.connect(lambda e: progress.append(e) if e["event"] == "progress" else None)
    window.training.start()
    return progress


def test_stopping_is_not_a_failure_and_progress_follows_the_clock(qtbot, window, labelled_project):
    progress = _start_a_minute_run(qtbot, window, labelled_project)
    qtbot.waitUntil(lambda: len(progress) >= 3, timeout=60_000)
    assert 0 < progress[-1]["fraction"] < 0.5 and progress[-1]["eta_s"] <= 60  # not "a million iterations"
    assert window.training_panel.progress.value() > 0
    with qtbot.waitSignal(window.training.ended, timeout=30_000) as ended:
        window.training_panel.stop.click()
    assert ended.args == [False, "stopped"]
    assert "failed" not in window.training_panel.status.text()


def test_an_untrained_random_model_is_replaced_by_a_pretrained_start(tmp_path):
    from fcn_studio.model.pretrained import imagenet_weights_file
    from fcn_studio.workspace.runs import worth_continuing

    model, info, _ = new_model("fcn8s", "mobilenet_v3_small", EASY, weights=None)
    untrained = tmp_path / "untrained.safetensors"
    save_checkpoint(untrained, model, info)
    info.provenance["trained_images"] = 12
    trained = tmp_path / "trained.safetensors"
    save_checkpoint(trained, model, info)
    assert worth_continuing(trained)
    pretrained_available = imagenet_weights_file("mobilenet_v2") is not None
    assert worth_continuing(untrained) is not pretrained_available
    assert not worth_continuing(tmp_path / "missing.safetensors")


def test_the_panel_shows_a_run_with_no_end_as_busy_learning_until_stopped(qtbot):
    from fcn_studio.ui.training.training_panel import TrainingPanel

    panel = TrainingPanel()
    qtbot.addWidget(panel)
    panel.show_event({"event": "started", "arch": "fcn8s", "backbone": "resnet18", "recipe": "interactive",
                      "device": "CPU", "train_images": 8, "val_images": 2, "total_iterations": None})
    assert panel.progress.maximum() == 0  # Qt's busy indicator
    panel.show_event({"event": "progress", "iteration": 5, "epoch": 1, "loss": 0.5, "lr": 3e-3,
                      "images_per_s": 4.0, "eta_s": None})
    assert "learning until stopped" in panel.status.text()


def test_keep_learning_swaps_better_models_in_and_is_remembered_per_project(qtbot, window, labelled_project,
                                                                             tmp_path):
    other = make_labelled_project(tmp_path, "other")
    window.opening.open_paths([labelled_project])
    wait_for_image(qtbot, window, ".png")
    qtbot.waitUntil(lambda: window.worker.predictor is not None, timeout=30_000)
    keep = window.keep_learning
    keep.extra_args = ["--crop", "48", "--batch-size", "4", "--lr", "0.01"]
    box = window.training_panel.keep
    box.switch.setChecked(True)  # as a click does
    assert not window.training_panel.start.isEnabled()  # one run per project: the loop is it
    qtbot.waitUntil(lambda: keep.in_use is not None, timeout=180_000)
    version = keep.in_use
    assert version.version == 1 and "v1, trained on" in box.in_use.text() and box.history.count() >= 1
    # every score says what it was measured on (a later version's set is larger: rows are not compared)
    assert "measured on" in box.in_use.text() and f"on {version.scored_images} image" in box.history.item(0).text()
    qtbot.waitUntil(lambda: window.status.model.text() == os.path.basename(version.path), timeout=30_000)
    # the images no person touched are predicted again with the new model
    qtbot.waitUntil(lambda: Project.open(labelled_project).counts()["predicted"] == 2, timeout=60_000)
    assert Project.open(labelled_project).keep_learning
    box.switch.setChecked(False)  # off and at once on again: the new backend waits for the old one to end
    box.switch.setChecked(True)
    qtbot.waitUntil(lambda: keep.loop is not None and keep.loop.status == "learning", timeout=120_000)
    window.opening.open_paths([other])  # switching project stops the loop; the other project's switch is its own
    qtbot.waitUntil(lambda: window.project is not None and window.project.root.resolve() == other.resolve(),
                    timeout=30_000)
    assert keep.loop is None and not box.switch.isChecked()
    assert window.training_panel.start.isEnabled()
    resume = labelled_project / "models" / "keep" / "current.resume.safetensors"
    qtbot.waitUntil(resume.is_file, timeout=60_000)
    assert box.in_use.text() == ""  # the other project uses no keep-learning version
    window.opening.open_paths([labelled_project])  # reopened: the panel says which version is still in use
    qtbot.waitUntil(lambda: window.project is not None and window.project.root.resolve() == labelled_project.resolve(),
                    timeout=30_000)
    assert box.switch.isChecked() and box.in_use.text().startswith("In use: v")


def test_quitting_during_a_run_stops_it_first_so_its_lock_is_gone(qtbot, window, labelled_project):
    """The window waits for the run to end (never blocking) before it closes: destroyed with the
    window, the backend would be killed and leave training.lock behind."""
    progress = _start_a_minute_run(qtbot, window, labelled_project)
    qtbot.waitUntil(lambda: bool(progress), timeout=60_000)
    assert (labelled_project / "training.lock").exists()
    window.close()
    assert window.isVisible() and "Stopping the training" in window.status.currentMessage()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=30_000)
    assert not window.workspace.runs.active and not (labelled_project / "training.lock").exists()


def test_train_on_corrections_during_keep_learning_is_refused_in_one_line(qtbot, window, labelled_project):
    """Ctrl+T while keep learning holds the project's backend: no second backend (it would fail on the
    project's training.lock and be recorded as a failed run), a one-line reason instead."""
    window.opening.open_paths([labelled_project])
    wait_for_image(qtbot, window, ".png")
    keep = window.keep_learning
    keep.extra_args = ["--crop", "48", "--batch-size", "4", "--lr", "0.01"]
    window.training_panel.keep.switch.setChecked(True)
    qtbot.waitUntil(lambda: keep.loop is not None and keep.loop.status == "learning", timeout=120_000)
    window.training_panel.arguments = lambda: SHORT
    window.actions["train"].trigger()  # Model > Train on Corrections, Ctrl+T
    assert not window.training.running
    assert window.status.currentMessage() == "Keep learning is training this project: turn it off to train once."
    assert window.training_panel.status.text() == window.status.currentMessage()
    assert keep.loop is not None and keep.loop.running
    assert not any(r["note"].startswith("failed") for r in window.project.model_runs())


def test_keep_learning_versions_are_in_the_model_history_the_panel_reads(qtbot, window, labelled_project):
    """A keep-learning history.json of an older FCN Studio comes into the project's model history when
    the project opens: the Keep learning panel and Model > Model History list the same versions."""
    import json

    from fcn_studio.ui.models.model_history import ModelHistoryDialog

    start = Project.open(labelled_project).model_path
    folder = labelled_project / "models" / "keep"
    folder.mkdir(parents=True)
    model, info = load_checkpoint(start)
    save_checkpoint(folder / "v1.safetensors", model, info)
    (folder / "history.json").write_text(json.dumps([{
        "version": 1, "path": str(folder / "v1.safetensors"), "trained_images": 5, "val_images": 1,
        "mean_iu": 0.5, "previous_mean_iu": None, "time": 1_700_000_000.0}]))
    window.opening.open_paths([labelled_project])
    qtbot.waitUntil(lambda: window.project is not None, timeout=10_000)
    box = window.training_panel.keep
    assert box.history.count() == 1 and "v1  0.50" in box.history.item(0).text()
    runs = window.project.model_runs()
    assert [(r["note"], r["checkpoint"].resolve(), r["metrics"]["mean_iu"]) for r in runs] == [
        ("keep learning v1", (folder / "v1.safetensors").resolve(), 0.5)]
    dialog = ModelHistoryDialog(runs, window.project.model_path, window)
    qtbot.addWidget(dialog)
    dialog.choose(0)
    assert dialog.chosen.resolve() == (folder / "v1.safetensors").resolve()
    assert not (folder / "history.json").exists()  # read once
