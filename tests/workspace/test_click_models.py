"""The click model's owner without a window: the machine's start model is made once, in a real child
process, when the Click tool first needs one; while keep learning runs, the click lane runs beside it
and each better version is recorded in the project's model history and swapped in (not while pinned;
rolling back pins); a lane that keeps dying is started again a few times, then it says it stopped."""

import threading

import pytest

from fcn_studio.model.cache import click_start_path
from fcn_studio.model.click_net import ClickNet, load_click_model, save_click_model
from fcn_studio.project.click_models import click_versions
from fcn_studio.workspace import Workspace
from fcn_studio.workspace.click_models import MAX_RESTARTS
from tests.training.conftest import easy_project

TINY = ["--backbone", "resnet18", "--weights", "none", "--crop", "32", "--batch-size", "4", "--lr", "0.01"]
FAKE = "tests.workspace.fake_click_lane"


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FCN_STUDIO_CACHE_DIR", str(tmp_path / "cache"))


def _watch(ws):
    news, said, changed = threading.Condition(), [], []

    def note(lst, value):
        with news:
            lst.append(value)
            news.notify_all()
    ws.clicks.status.connect(lambda text: note(said, text))
    ws.clicks.changed.connect(lambda path: note(changed, path))

    def wait(condition, timeout=120):
        with news:
            return news.wait_for(condition, timeout)
    return said, changed, wait


def test_the_start_model_is_made_once_when_first_needed(tmp_path):
    project, _, _ = easy_project(tmp_path, 2, 0)
    ws = Workspace()
    said, changed, wait = _watch(ws)
    ws.open(project)
    assert ws.clicks.path() is None
    assert ws.clicks.ensure() is False and ws.clicks.maker is not None
    assert ws.clicks.ensure() is False  # asked again meanwhile: still one maker
    assert said[0].startswith("making the click model")
    assert wait(lambda: click_start_path() in changed), said
    assert ws.clicks.path() == click_start_path() and ws.clicks.ensure()
    load_click_model(ws.clicks.path())
    ws.close()


def _learning(tmp_path, monkeypatch, lane_mode):
    monkeypatch.setenv("FCN_STUDIO_CLICK_LANE", "on")
    monkeypatch.setenv("FAKE_CLICK_LANE", lane_mode)
    click_start_path().parent.mkdir(parents=True)
    save_click_model(click_start_path(), ClickNet().eval(), {"made": "test"})
    project, _, _ = easy_project(tmp_path, 6, 0)
    ws = Workspace()
    ws.device = "cpu"
    ws.runs.keep_args = TINY
    ws.clicks.module = FAKE
    said, changed, wait = _watch(ws)
    ws.open(project)
    return ws, said, changed, wait


def _stop(ws):
    done = threading.Event()
    ws.clicks.stop_all()
    ws.runs.stop_all(done.set)
    assert done.wait(60)
    ws.close()


def test_keep_learning_runs_the_click_lane_and_a_better_version_is_recorded_and_swapped_in(tmp_path, monkeypatch):
    ws, said, changed, wait = _learning(tmp_path, monkeypatch, "better")
    assert ws.clicks.lane is None  # no keep learning, no lane
    ws.runs.set_keep_learning(True)
    assert ws.clicks.lane is not None and ws.clicks.lane.running
    v1 = tmp_path / "p" / "models" / "click" / "click-v1.safetensors"
    assert wait(lambda: v1 in changed), said
    assert ws.project.click_model_path == v1 and ws.clicks.path() == v1
    assert [(v.version, v.noc85, v.previous_noc85) for v in click_versions(ws.project)] == [(1, 2.5, 4.0)]
    assert ws.project.model_runs()[0]["note"] == "click model v1"  # in Model > Model History
    assert said[-1] == "click model v1 in use: 2.50 clicks per object (was 4.00) on 7 objects"
    assert ws.clicks.in_use().version == 1
    ws.runs.set_keep_learning(False)
    assert ws.clicks.lane is None  # the lane stops with keep learning
    _stop(ws)


def test_pinned_versions_are_recorded_not_swapped_in_and_rolling_back_pins(tmp_path, monkeypatch):
    ws, said, changed, wait = _learning(tmp_path, monkeypatch, "better")
    ws.clicks.pin(True)
    ws.runs.set_keep_learning(True)
    assert wait(lambda: any("saved (pinned" in s for s in said)), said
    assert ws.project.click_model_path is None and ws.clicks.path() == click_start_path()
    ws.runs.set_keep_learning(False)
    ws.clicks.pin(False)
    assert ws.clicks.roll_back(1)  # the recorded version, chosen by hand
    assert ws.project.click_pinned and ws.clicks.path().name == "click-v1.safetensors"
    assert not ws.clicks.roll_back(7)  # no such version: nothing changes
    _stop(ws)


def test_a_lane_that_keeps_dying_is_restarted_a_few_times_then_says_it_stopped(tmp_path, monkeypatch):
    ws, said, changed, wait = _learning(tmp_path, monkeypatch, "die")
    ws.runs.set_keep_learning(True)
    assert wait(lambda: any(s.startswith("the click model stopped learning") for s in said)), said
    assert ws.clicks._restarts == MAX_RESTARTS + 1 and ws.clicks.lane is None
    _stop(ws)
