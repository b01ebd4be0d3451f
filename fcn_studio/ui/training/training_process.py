"""The training backend as a child process of the app (no server to install): QProcess runs
`python -m fcn_studio.training`, its stdout lines become events, and a process that dies without a
`finished` or `failed` event (killed, crashed, out of memory) is reported as such. The app and its
unsaved work never depend on it."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal

from fcn_studio.training.events import parse_event
from fcn_studio.training.stopping import STOP_LINE

KILL_AFTER_MS = 15_000  # a stop waits for the step in progress; a backend stuck longer than this is killed


class TrainingProcess(QObject):
    event = Signal(dict)
    ended = Signal(bool, str)  # succeeded, message (for a failure: what a person can act on)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.process: QProcess | None = None
        self._buffer = b""
        self._final: dict | None = None
        self._stderr_tail = b""
        self._stopping = False

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.state() != QProcess.ProcessState.NotRunning

    def start(self, args: list[str], cwd: Path | None = None) -> None:
        if self.running:
            raise RuntimeError("a training run is already going")
        self._buffer, self._final, self._stderr_tail, self._stopping = b"", None, b"", False
        proc = QProcess(self)
        env = QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONUNBUFFERED", "1")
        proc.setProcessEnvironment(env)
        if cwd is not None:
            proc.setWorkingDirectory(str(cwd))
        proc.readyReadStandardOutput.connect(self._read)
        proc.readyReadStandardError.connect(self._read_err)
        proc.finished.connect(self._finished)
        proc.errorOccurred.connect(self._error)
        self.process = proc
        proc.start(sys.executable, ["-m", "fcn_studio.training", "--stop-on-stdin", *args])

    def stop(self) -> None:
        """Asks the run to stop with a line on its stdin (the same on Windows, macOS and Linux: a
        console Python never sees the WM_CLOSE that QProcess.terminate sends on Windows), and kills it
        if it has not ended in KILL_AFTER_MS. Never blocks the GUI thread."""
        if not self.running:
            return
        self._stopping = True
        proc = self.process
        proc.write(f"{STOP_LINE}\n".encode())
        QTimer.singleShot(KILL_AFTER_MS, self, lambda: self._kill_if_running(proc))

    def _kill_if_running(self, proc: QProcess) -> None:
        if proc is self.process and proc.state() != QProcess.ProcessState.NotRunning:
            proc.kill()

    @property
    def stopping(self) -> bool:
        return self.running and self._stopping

    def pid(self) -> int:
        return int(self.process.processId()) if self.process is not None else 0

    def _read(self) -> None:
        self._buffer += bytes(self.process.readAllStandardOutput())
        *lines, self._buffer = self._buffer.split(b"\n")
        for raw in lines:
            event = parse_event(raw.decode("utf-8", "replace"))
            if event is None:
                continue
            if event["event"] in ("finished", "failed"):
                self._final = event
            self.event.emit(event)

    def _read_err(self) -> None:
        self._stderr_tail = (self._stderr_tail + bytes(self.process.readAllStandardError()))[-4000:]

    def _error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self.ended.emit(False, f"the training process could not start ({self.process.errorString()})")

    def _finished(self, code: int, status: QProcess.ExitStatus) -> None:
        self._read()
        final = self._final
        if final is not None and final["event"] == "finished":
            self.ended.emit(True, "")
        elif final is not None and final.get("stopped"):
            self.ended.emit(False, "stopped")
        elif final is not None:
            self.ended.emit(False, final.get("message", "training failed"))
        elif self._stopping:
            self.ended.emit(False, "stopped")
        else:
            how = "was killed" if status == QProcess.ExitStatus.CrashExit else f"exited with status {code}"
            tail = self._stderr_tail.decode("utf-8", "replace").strip().splitlines()[-1:]
            self.ended.emit(False, f"the training process {how} before finishing"
                            + (f" ({tail[0]})" if tail else "") + "; the last checkpoint is kept")
