"""The one launcher of the training backend (`python -m fcn_studio.training ... --stop-on-stdin`) as a
child process, for one-shot runs and keep learning alike: a reader thread turns its stdout lines into
events, a second one keeps the tail of its stderr, and a process that dies without a `finished` or
`failed` event (killed, crashed, out of memory) is reported with its reason. Stopping is a line on its
stdin (the same on Windows, macOS and Linux) and never waits: a backend still going KILL_AFTER_S later
is killed. Callbacks run on the reader thread; the caller dispatches them where it wants them."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from fcn_studio.training.events import parse_event
from fcn_studio.training.stopping import STOP_LINE

KILL_AFTER_S = 15.0  # a stop waits for the step in progress; a backend stuck longer than this is killed
LOW_PRIORITY_ENV = "FCN_STUDIO_LOW_PRIORITY"  # the backend lowers its own priority (POSIX) when set
STOPPED = "stopped"


class Backend:
    """One backend process. `on_event(event)` for each event, then `on_ended(succeeded, message)` once,
    where message is "stopped" for a stop asked for, else what a person can act on."""

    def __init__(self, args: list[str], cwd: Path | None = None, low_priority: bool = False,
                 on_event: Callable[[dict], None] | None = None,
                 on_ended: Callable[[bool, str], None] | None = None, module: str = "fcn_studio.training") -> None:
        self.args = [str(a) for a in args]
        self.module = module  # the semantic trainer, or the click model's lane (training.click_lane)
        self.cwd = cwd
        self.low_priority = low_priority
        self.on_event = on_event or (lambda event: None)
        self.on_ended = on_ended or (lambda ok, message: None)
        self.process: subprocess.Popen | None = None
        self.final: dict | None = None
        self.stopping = False
        self.killed = False  # killed by `kill` (a stop that took too long)
        self.exited = False  # the process has ended (set before `on_ended` is called)
        self._stderr_tail = ""
        self._done = threading.Event()
        self._threads: list[threading.Thread] = []

    def command(self) -> list[str]:
        return [sys.executable, "-m", self.module, "--stop-on-stdin", *self.args]

    def start(self) -> None:
        if self.process is not None:
            raise RuntimeError("this backend was started already")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        flags = 0
        if self.low_priority:
            env[LOW_PRIORITY_ENV] = "1"
            flags = getattr(subprocess, "BELOW_NORMAL_PRIORITY_CLASS", 0)  # Windows; POSIX: the backend nices itself
        try:
            self.process = subprocess.Popen(self.command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                            stderr=subprocess.PIPE, text=True, encoding="utf-8", errors="replace",
                                            env=env, cwd=self.cwd, creationflags=flags)
        except OSError as exc:
            self.exited = True
            self._done.set()
            self.on_ended(False, f"the training process could not start ({exc})")
            return
        self._threads = [threading.Thread(target=self._read_stderr, name="backend-stderr", daemon=True),
                         threading.Thread(target=self._read, name="backend-events", daemon=True)]
        for thread in self._threads:
            thread.start()

    @property
    def running(self) -> bool:
        """Started and not yet ended."""
        return self.process is not None and not self.exited

    @property
    def pid(self) -> int:
        return 0 if self.process is None else self.process.pid

    def stop(self) -> None:
        """Asks the run to stop between two steps (its last checkpoint stays) and kills it if it has
        not ended KILL_AFTER_S later. Returns at once."""
        proc = self.process
        if proc is None or self.exited or self.stopping:
            return
        self.stopping = True
        try:
            proc.stdin.write(STOP_LINE + "\n")
            proc.stdin.flush()
            proc.stdin.close()
        except (OSError, ValueError):
            pass  # it is ending already
        timer = threading.Timer(KILL_AFTER_S, self.kill)
        timer.daemon = True
        timer.start()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.killed = True
            self.process.kill()

    @property
    def stderr_tail(self) -> str:
        """The last lines the process wrote to stderr (a traceback, a library's complaint), for the log."""
        return self._stderr_tail.strip()

    def wait(self, timeout: float | None = None) -> bool:
        """Waits (off the GUI thread) until the backend has ended and `on_ended` was called."""
        return self._done.wait(timeout)

    # -- the reader threads --------------------------------------------------------------------------
    def _read_stderr(self) -> None:
        for line in self.process.stderr:
            if line.strip():
                self._stderr_tail = (self._stderr_tail + line)[-4000:]

    def _read(self) -> None:
        proc = self.process
        try:
            for line in proc.stdout:
                event = parse_event(line)
                if event is None:
                    continue
                if event["event"] in ("finished", "failed"):
                    self.final = event
                self.on_event(event)
        finally:
            proc.wait()
            self._threads[0].join(10)
            try:
                succeeded, message = self._outcome(proc.returncode)
                self.exited = True
                self.on_ended(succeeded, message)
            finally:
                self._done.set()

    def _outcome(self, code: int) -> tuple[bool, str]:
        final = self.final
        if final is not None and final["event"] == "finished":
            return True, ""
        if final is not None and final.get("stopped"):
            return False, STOPPED
        if final is not None:
            return False, final.get("message", "training failed")
        if self.stopping:
            return False, STOPPED
        how = "was killed" if code < 0 else f"exited with status {code}"
        tail = self._stderr_tail.strip().splitlines()[-1:]
        return False, (f"the training process {how} before finishing" + (f" ({tail[0]})" if tail else "")
                       + "; the last checkpoint is kept")
