"""The training backend as the app and the CLI run it: a real child process, real data, real steps."""

import json
import os
import signal
import subprocess
import sys
import threading
import time

import jsonschema
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file as safe_load

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


def _train_in_process(voc, out, stop_after_checkpoint=False, **overrides) -> list[dict]:
    from fcn_studio.training.config import TrainConfig
    from fcn_studio.training.events import EventWriter
    from fcn_studio.training.stopping import StopRequested
    from fcn_studio.training.trainer import run

    events = EventWriter()
    seen: list[dict] = []
    stop = threading.Event()
    events.listeners.append(seen.append)
    if stop_after_checkpoint:  # the person presses Stop during the second epoch
        events.listeners.append(lambda e: stop.set() if e["event"] == "checkpoint" else None)
    cfg = TrainConfig(source=voc, out=out, **{"backbone": "resnet18", "weights": None, "crop": 48, "batch_size": 4,
                                              "lr": 0.01, "device": "cpu", **overrides})
    try:
        run(cfg, events, stop)
    except StopRequested:
        pass
    return seen


def test_resume_continues_exactly_where_it_stopped(tmp_path, easy_voc):
    from fcn_studio.training.state_io import KEY

    straight = tmp_path / "straight" / "m.safetensors"
    first = _train_in_process(easy_voc, straight, epochs=2, crop=32, batch_size=8)
    per_epoch = first[0]["total_iterations"] // 2
    resumed = tmp_path / "resumed" / "m.safetensors"
    _train_in_process(easy_voc, resumed, stop_after_checkpoint=True, epochs=2, crop=32, batch_size=8)
    second = _train_in_process(easy_voc, resumed, epochs=2, crop=32, batch_size=8, resume=True)
    assert next(e for e in second if e["event"] == "started")["start_iteration"] == per_epoch
    a = load_checkpoint(straight.with_name("m.last.safetensors"))[0].state_dict()
    b = load_checkpoint(resumed.with_name("m.last.safetensors"))[0].state_dict()
    assert a.keys() == b.keys()
    for key in a:  # the same batches, the same optimizer moments: the same weights
        assert torch.allclose(a[key].float(), b[key].float(), atol=1e-5), key
    sa, sb = (safe_load(p.with_name("m.resume.safetensors")) for p in (straight, resumed))
    assert sa.keys() == sb.keys() and sa
    for key in sa:
        assert torch.allclose(sa[key].float(), sb[key].float(), atol=1e-5), key
    with safe_open(str(resumed.with_name("m.resume.safetensors")), "pt") as f:
        assert json.loads(f.metadata()[KEY])["extra"]["iteration"] == 2 * per_epoch


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
        elif checkpoints >= 3 and '"progress"' in line:
            break  # in the middle of the next epoch, maybe of a write
        if time.time() > deadline:
            break
    child.send_signal(signal.SIGKILL)
    child.wait()
    _assert_complete(last)
    _assert_complete(out)


def _assert_complete(path):
    """A checkpoint that loads, with every tensor of the model it claims to be, finite."""
    from fcn_studio.model.factory import new_model

    model, info = load_checkpoint(path)  # a torn file fails here
    assert info.provenance["iterations"] > 0
    fresh = new_model(info.config.arch, info.config.backbone, info.labels, weights=None)[0].state_dict()
    saved = model.state_dict()
    with safe_open(str(path), "pt") as f:
        stored = set(f.keys())
    assert stored == set(fresh)  # nothing missing from the file, nothing the loader made up
    for key, value in fresh.items():
        assert saved[key].shape == value.shape, key
        assert torch.isfinite(saved[key].float()).all(), key


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
    script = ("import sys\nfrom fcn_studio.training.runner import project_lock\n"
              f"with project_lock(r'{tmp_path / 'p'}'):\n    print('locked', flush=True)\n    sys.stdin.read()\n")
    holder = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # holds it until killed
    assert holder.stdout.readline().strip() == "locked"
    try:
        with pytest.raises(TrainingBusy, match=f"process {holder.pid}"), project_lock(tmp_path / "p"):
            pass
    finally:
        holder.kill()
        holder.wait()
    assert (tmp_path / "p" / "training.lock").exists()  # the dead holder's file: harmless
    with project_lock(tmp_path / "p"):  # the OS released the dead holder's lock
        pass
    assert not (tmp_path / "p" / "training.lock").exists()  # a run that ends leaves nothing behind


def test_a_line_on_stdin_stops_the_run_cleanly(tmp_path, easy_voc):
    out = tmp_path / "m.safetensors"
    child = subprocess.Popen([sys.executable, "-m", "fcn_studio.training", "--stop-on-stdin",
                              *map(str, small_args(easy_voc, out, "--iterations", "100000"))],
                             cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    events = []
    for line in child.stdout:
        events.append(json.loads(line)) if line.startswith("{") else None
        if events and events[-1]["event"] == "progress":
            break
    child.stdin.write("stop\n")  # what the app sends on every platform, instead of a signal
    child.stdin.flush()
    rest, _ = child.communicate(timeout=120)
    events += [json.loads(line) for line in rest.splitlines() if line.startswith("{")]
    assert child.returncode == 130
    assert events[-1]["event"] == "failed" and events[-1]["stopped"] is True


def test_the_time_limit_is_for_the_whole_run_not_each_stage(tmp_path, easy_voc):
    events = _train_in_process(easy_voc, tmp_path / "m.safetensors", recipe="paper", crop=None, batch_size=None,
                               lr=None, iterations=10**6, time_limit=3.0)
    budgets = [e["time_limit_s"] for e in events if e["event"] == "started"]
    assert len(budgets) == 3 and budgets[0] <= 1.0  # a third of the run's time
    assert sum(budgets) <= 3.0  # each later stage gets a share of what is left, not 3 s again
    assert [e["event"] for e in events].count("finished") == 1


def test_a_random_encoder_is_not_taken_for_a_pretrained_one(tmp_path, easy_voc):
    from safetensors.torch import save_file

    unrelated = tmp_path / "unrelated.safetensors"
    save_file({"something.else": torch.zeros(3)}, str(unrelated))  # "loaded 0 of N encoder tensors"
    started = [e for e in _train_in_process(easy_voc, tmp_path / "m.safetensors", iterations=1,
                                            weights=str(unrelated)) if e["event"] == "started"][0]
    assert "loaded 0 of" in started["encoder"]
    assert started["encoder_tensors_loaded"] == 0 and started["pretrained"] is False


def test_two_process_gloo_ddp_takes_the_same_steps_and_learns(tmp_path, easy_voc):
    out = tmp_path / "m.safetensors"
    launcher = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--standalone",
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
