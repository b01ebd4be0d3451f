"""The one launcher of the backend (training.backend), as one-shot runs and keep learning use it: a real
child process; one that dies without a final event is reported with its reason, a stop is a line on
its stdin."""

import os
import threading

from fcn_studio.training.backend import STOPPED, Backend
from tests.training.conftest import small_args


def _start(args) -> tuple[Backend, list[dict], list[tuple[bool, str]], threading.Event]:
    events, ended, progressed = [], [], threading.Event()

    def on_event(event: dict) -> None:
        events.append(event)
        if event["event"] == "progress":
            progressed.set()

    backend = Backend(args, on_event=on_event, on_ended=lambda ok, message: ended.append((ok, message)))
    backend.start()
    return backend, events, ended, progressed


def test_a_killed_backend_is_reported_as_killed_and_its_checkpoint_kept(easy_voc, tmp_path):
    backend, events, ended, progressed = _start(small_args(easy_voc, tmp_path / "m.safetensors",
                                                           "--iterations", "100000"))
    assert progressed.wait(180), f"no progress; ended: {ended}"
    assert backend.running
    backend.process.kill()  # as the system's out-of-memory killer or a person's task manager would
    assert backend.wait(30)
    assert not backend.running and len(ended) == 1
    succeeded, message = ended[0]
    assert not succeeded and message.endswith("; the last checkpoint is kept")
    assert ("was killed" in message) if os.name != "nt" else ("exited with status" in message)


def test_a_backend_that_dies_says_why_from_its_stderr(easy_voc, tmp_path):
    backend, events, ended, _ = _start([easy_voc, "--out", tmp_path / "m.safetensors", "--no-such-option"])
    assert backend.wait(120)
    succeeded, message = ended[0]
    assert not succeeded and "exited with status 2" in message and "--no-such-option" in message
    assert events == []


def test_stopping_is_a_line_on_stdin_and_not_a_failure(easy_voc, tmp_path):
    backend, events, ended, progressed = _start(small_args(easy_voc, tmp_path / "m.safetensors",
                                                           "--iterations", "100000"))
    assert progressed.wait(180), f"no progress; ended: {ended}"
    backend.stop()  # returns at once
    assert backend.stopping and backend.wait(30)
    assert ended == [(False, STOPPED)] and not backend.killed
