"""The training backend as the app and the CLI run it: a real child process, real data, real steps."""

import json
import os
import signal
import subprocess
import sys
import time

import jsonschema
import pytest

from fcn_studio.model.checkpoint import load_checkpoint
from fcn_studio.training.events import SCHEMA_PATH
from tests.training.conftest import ROOT, run_backend, small_args


@pytest.fixture(scope="module")
def schema():
    return json.loads(SCHEMA_PATH.read_text())


def test_a_tiny_net_learns_a_generated_task_and_events_follow_the_schema(tmp_path, easy_voc, schema):
    out = tmp_path / "m.safetensors"
    proc, events = run_backend(small_args(easy_voc, out, "--iterations", "60"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    for event in events:
        jsonschema.validate(event, schema)
    kinds = [e["event"] for e in events]
    assert kinds[0] == "started" and kinds[-1] == "finished" and "validation" in kinds and "checkpoint" in kinds
    losses = [e["loss"] for e in events if e["event"] == "progress"]
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3
    best = max(e["mean_iu"] for e in events if e["event"] == "validation")
    assert best > 0.7, best
    model, info = load_checkpoint(out)
    assert info.provenance["metrics"]["mean_iu"] == pytest.approx(best)
    assert info.provenance["trained_images"] > 0 and info.labels.names == ("background", "blob")


def test_resume_continues_where_it_stopped(tmp_path, easy_voc):
    out = tmp_path / "m.safetensors"
    proc, first = run_backend(small_args(easy_voc, out, "--iterations", "8"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    proc, second = run_backend(small_args(easy_voc, out, "--iterations", "16", "--resume"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    started = next(e for e in second if e["event"] == "started")
    assert started["start_iteration"] == 8
    assert [e["iteration"] for e in second if e["event"] == "progress"][-1] == 16
    assert next(e for e in second if e["event"] == "finished")["iterations"] == 16


def test_bad_input_becomes_a_failed_event_a_person_can_act_on(tmp_path, schema):
    (tmp_path / "JPEGImages").mkdir()
    proc, events = run_backend([tmp_path, "--out", tmp_path / "m.safetensors", "--weights", "none"])
    assert proc.returncode == 1
    assert events[-1]["event"] == "failed" and "JPEGImages/ and SegmentationClass/" in events[-1]["message"]
    jsonschema.validate(events[-1], schema)


def test_killing_training_leaves_the_last_checkpoint_intact(tmp_path, easy_voc):
    out = tmp_path / "m.safetensors"
    child = subprocess.Popen([sys.executable, "-m", "fcn_studio.training",
                              *map(str, small_args(easy_voc, out, "--iterations", "100000"))],
                             cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, text=True)
    last = out.with_name("m.last.safetensors")
    deadline = time.time() + 120
    checkpoints = 0
    for line in child.stdout:
        if '"checkpoint"' in line:
            checkpoints += 1
        if checkpoints >= 3 or time.time() > deadline:
            break
    time.sleep(0.3)  # likely in the middle of the next epoch, maybe of a write
    child.send_signal(signal.SIGKILL)
    child.wait()
    model, info = load_checkpoint(last)  # a torn file would fail here
    assert info.provenance["iterations"] > 0
    assert not list(tmp_path.glob(".*.tmp")) or all(p.stat().st_size >= 0 for p in tmp_path.glob(".*.tmp"))


def test_one_training_run_per_project(tmp_path):
    import numpy as np
    from PIL import Image

    from fcn_studio.project.project import Project
    from fcn_studio.training.runner import TrainingBusy, project_lock

    (tmp_path / "img").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "img" / "a.png")
    project = Project.create(tmp_path / "p")
    project.add_images([tmp_path / "img"])
    project.save_mask(project.images()[0].id, np.zeros((8, 8), np.uint8))
    project.close()
    script = ("import time\nfrom fcn_studio.training.runner import project_lock\n"
              f"with project_lock(r'{tmp_path / 'p'}'):\n    print('locked', flush=True)\n    time.sleep(60)\n")
    holder = subprocess.Popen([sys.executable, "-c", script],
                              cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    try:
        with pytest.raises(TrainingBusy, match=f"process {holder.pid}"), project_lock(tmp_path / "p"):
            pass
    finally:
        holder.kill()
        holder.wait()
    with project_lock(tmp_path / "p"):  # the OS released the dead holder's lock
        pass


def test_two_process_gloo_ddp_takes_the_same_steps_and_learns(tmp_path, easy_voc):
    out = tmp_path / "m.safetensors"
    launcher = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_port=29533",
                "-m", "fcn_studio.training"]
    proc, events = run_backend(small_args(easy_voc, out, "--iterations", "12"), launcher=launcher,
                               env={"OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    started = next(e for e in events if e["event"] == "started")
    assert started["world_size"] == 2 and started["total_iterations"] == 12
    progress = [e for e in events if e["event"] == "progress"]
    assert progress[-1]["iteration"] == 12
    assert len([e for e in events if e["event"] == "started"]) == 1  # only rank 0 speaks
    assert progress[-1]["loss"] < progress[0]["loss"]
    assert load_checkpoint(out)[1].provenance["iterations"] > 0


def test_paper_recipe_trains_in_stages_32s_16s_8s(tmp_path, easy_voc):
    out = tmp_path / "m.safetensors"
    proc, events = run_backend([easy_voc, "--out", out, "--backbone", "resnet18", "--weights", "none",
                                "--recipe", "paper", "--iterations", "3", "--device", "cpu"])
    assert proc.returncode == 0, proc.stderr[-2000:]
    stages = [(e["stage"], e["arch"]) for e in events if e["event"] == "started"]
    assert stages == [(1, "fcn32s"), (2, "fcn16s"), (3, "fcn8s")]
    model, info = load_checkpoint(out)
    assert info.config.arch == "fcn8s" and info.provenance["recipe"] == "paper"


def test_cli_train_shows_progress_and_writes_the_model(tmp_path, easy_voc, capsys):
    from fcn_studio.cli import main

    out = tmp_path / "m.safetensors"
    assert main(["train", *map(str, small_args(easy_voc, out, "--iterations", "6")),
                 "--events", str(tmp_path / "ev.jsonl")]) == 0
    text = capsys.readouterr().out
    assert "training fcn8s on resnet18" in text and "best mean IU" in text and out.is_file()
    assert (tmp_path / "ev.jsonl").read_text().count('"event":"progress"') >= 1
