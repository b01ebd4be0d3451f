"""Keep learning's backend dies anyway (killed, out of memory, a bug): the reason and the process's last
output go to the app's log, the loop starts it again resuming from its last state and says so once, and
one that dies at once every time is not restarted forever."""

import logging

import pytest

from fcn_studio.training import keep_learning
from fcn_studio.training.keep_learning import MAX_RESTARTS, KeepLearning
from tests.training.conftest import KEEP_ARGS as TINY
from tests.training.conftest import easy_project, wait_for


@pytest.fixture(autouse=True)
def quick_restarts(monkeypatch):
    monkeypatch.setattr(keep_learning, "RESTART_DELAY_S", 0.05)


def test_a_backend_killed_mid_run_is_logged_and_started_again_resuming(tmp_path, caplog):
    project, _, _ = easy_project(tmp_path, 10, 10)
    project.close()
    loop = KeepLearning(tmp_path / "p", train_args=TINY)
    events, statuses = [], []
    loop.backend_event.connect(events.append)
    loop.status_changed.connect(statuses.append)
    caplog.set_level(logging.INFO, logger="fcn_studio.training.keep_learning")
    loop.start()
    try:
        assert wait_for(loop, lambda: any(e["event"] == "checkpoint" for e in events)), loop.status
        first = loop.backend
        first.process.kill()  # as the out-of-memory killer would
        restarted = lambda: loop.backend is not first and sum(e["event"] == "started" for e in events) == 2  # noqa: E731
        assert wait_for(loop, restarted), statuses
        assert wait_for(loop, lambda: loop.status.startswith("learning (started again"))
    finally:
        assert loop.stop()
    started = [e for e in events if e["event"] == "started"]
    saved = max(e["iteration"] for e in events if e["event"] == "checkpoint" and e["time"] < started[1]["time"])
    assert started[1]["start_iteration"] >= saved > 0  # it resumed from its last state
    restarting = [s for s in statuses if "starting it again" in s]
    assert len(restarting) == 1 and "was killed" in restarting[0]  # said once, with the reason
    logged = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("was killed" in m for m in logged), logged


def test_a_backend_that_dies_at_once_every_time_is_restarted_a_bounded_number_of_times(tmp_path, caplog):
    project, _, _ = easy_project(tmp_path, 6, 6)
    project.close()
    loop = KeepLearning(tmp_path / "p", train_args=[*TINY, "--crop", "not-a-number"])
    statuses, backends = [], set()
    loop.status_changed.connect(statuses.append)
    loop.status_changed.connect(lambda _s: backends.add(loop.backend) if loop.backend is not None else None)
    caplog.set_level(logging.INFO, logger="fcn_studio.training.keep_learning")
    loop.start()
    try:
        assert wait_for(loop, lambda: "in a row" in loop.status), statuses
    finally:
        loop.stop()
    assert len(backends) == MAX_RESTARTS + 1  # the first start and the bounded restarts
    assert sum("starting it again" in s for s in statuses) == MAX_RESTARTS
    final = next(s for s in statuses if "in a row" in s)
    assert final.startswith("learning stopped") and "exited with status 2" in final and "invalid" in final
    logged = "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)
    assert "invalid int value" in logged  # the process's own words (its stderr) are in the app's log
    assert not loop.running
