"""Keep learning: the training backend runs for as long as a project is open, and every model that
validates better is published as a numbered version for the window (or the command line, or the loop
benchmark) to swap in. One Qt-free object that all of them drive.

- The backend is `python -m fcn_studio.training PROJECT --follow` with no limit: each epoch re-reads the
  project, so new and re-corrected masks join the next one; it validates every epoch and keeps the best
  model, scoring the kept model again whenever the validation images or their masks change (through the
  one evaluation, inference.evaluate, as the comparison after a one-shot run).
- It runs at a lower priority and, on the CPU, with one core fewer than the machine has, so the GUI and
  interactive prediction keep a core.
- A version is published only when a validation set scored it (5 labelled images make one, see
  core.splits): with fewer, the backend learns but nothing is swapped in, and `status` says why.
- Stopping asks the backend to stop between steps (its last checkpoint and optimizer state stay);
  starting again resumes from them, and the version numbers go on.
- Pinned: versions are still recorded, but none is offered for use; `rollback` offers an old one."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from fcn_studio.core.atomic import atomic_path
from fcn_studio.core.events import Event, call_now
from fcn_studio.training.events import parse_event
from fcn_studio.training.stopping import STOP_LINE

FOLDER = Path("models") / "keep"
HISTORY = "history.json"
LOW_PRIORITY_ENV = "FCN_STUDIO_LOW_PRIORITY"
NO_VALIDATION_YET = ("learning, but no model is swapped in until there are validation images "
                     "(5 corrected or reviewed images make the first)")


@dataclass(frozen=True)
class ModelVersion:
    version: int
    path: str
    trained_images: int
    val_images: int
    mean_iu: float
    previous_mean_iu: float | None  # the model it replaces, scored on the same validation images
    time: float

    def scores(self) -> tuple[str, str | None]:
        """(mean IU, the replaced model's) as text, with a third decimal when two would read alike."""
        digits = 3 if self.previous_mean_iu is not None and round(self.mean_iu, 2) == round(self.previous_mean_iu, 2) \
            else 2
        was = None if self.previous_mean_iu is None else f"{self.previous_mean_iu:.{digits}f}"
        return f"{self.mean_iu:.{digits}f}", was

    def describe(self) -> str:
        now, was = self.scores()
        return (f"v{self.version}, trained on {self.trained_images} images, validation mean IU "
                f"{now}{'' if was is None else f', was {was}'}")

    def brief(self) -> str:
        """One short line for a narrow list: version, score (and the one it beat), images."""
        now, was = self.scores()
        return f"v{self.version}  {now}{'' if was is None else f' (was {was})'}  {self.trained_images} images"


class KeepLearning:
    def __init__(self, project_root: str | Path, start_model: str | Path | None = None,
                 train_args: list[str] | tuple[str, ...] = (), dispatch=call_now) -> None:
        self.root = Path(project_root)
        self.folder = self.root / FOLDER
        self.start_model = Path(start_model) if start_model else None
        self.train_args = list(train_args)
        self.dispatch = dispatch
        self.history: list[ModelVersion] = self._read_history()
        self.pinned = False
        self.status = "stopped"
        self.published = Event()  # (ModelVersion) a better model was saved
        self.use = Event()  # (ModelVersion) the model to swap in now (not while pinned)
        self.status_changed = Event()  # (str)
        self.backend_event = Event()  # (dict) every event of the backend, for progress and plots
        self._proc: subprocess.Popen | None = None
        self._reader: threading.Thread | None = None
        self._last_validation: dict | None = None
        self._lock = threading.Lock()

    # -- files ----------------------------------------------------------------------------------------
    @property
    def checkpoint(self) -> Path:
        """The backend's best model; versions are copies of it."""
        return self.folder / "current.safetensors"

    def _read_history(self) -> list[ModelVersion]:
        try:
            return [ModelVersion(**v) for v in json.loads((self.folder / HISTORY).read_text("utf-8"))]
        except (OSError, ValueError, TypeError):
            return []

    def _write_history(self) -> None:
        with atomic_path(self.folder / HISTORY) as tmp:
            tmp.write_text(json.dumps([asdict(v) for v in self.history], indent=1), "utf-8")

    # -- running --------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def command(self) -> list[str]:
        args = [sys.executable, "-m", "fcn_studio.training", str(self.root), "--follow", "--stop-on-stdin",
                "--out", str(self.checkpoint)]
        if (self.folder / "current.resume.safetensors").is_file():
            args.append("--resume")
        if self.start_model is not None and self.start_model.is_file():
            args += ["--model", str(self.start_model)]
        return args + self.train_args

    def start(self) -> None:
        if self.running:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PYTHONUNBUFFERED": "1", LOW_PRIORITY_ENV: "1"}
        flags = getattr(subprocess, "BELOW_NORMAL_PRIORITY_CLASS", 0)  # Windows; POSIX: the backend nices itself
        self._proc = subprocess.Popen(self.command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.DEVNULL, text=True, encoding="utf-8", env=env,
                                      creationflags=flags)
        self._reader = threading.Thread(target=self._read, args=(self._proc,), name="keep-learning", daemon=True)
        self._reader.start()
        self._set_status("starting")

    def stop(self, timeout: float = 60.0) -> bool:
        """Asks the backend to stop between steps and waits; True when it ended by itself (its last
        checkpoint and optimizer state are complete), False when it had to be killed."""
        proc = self._proc
        if proc is None:
            return True
        clean = True
        if proc.poll() is None:
            try:
                proc.stdin.write(STOP_LINE + "\n")
                proc.stdin.flush()
                proc.stdin.close()
            except (OSError, ValueError):
                pass
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                clean = False
        if self._reader is not None:
            self._reader.join(10)
        self._proc = None
        self._set_status("stopped")
        return clean

    # -- choosing the model ---------------------------------------------------------------------------
    def pin(self, pinned: bool) -> None:
        self.pinned = pinned

    def rollback(self, version: int) -> ModelVersion:
        """Offers an earlier version for use (and pins, so the next improvement does not replace it)."""
        chosen = next((v for v in self.history if v.version == version), None)
        if chosen is None:
            raise KeyError(f"no version v{version} in {self.folder / HISTORY}")
        self.pinned = True
        self.dispatch(lambda: self.use.emit(chosen))
        return chosen

    # -- the backend's events -------------------------------------------------------------------------
    def _read(self, proc: subprocess.Popen) -> None:
        for line in proc.stdout:
            event = parse_event(line)
            if event is not None:
                self._handle(event)
        proc.wait()
        if proc.returncode not in (0, 130) and self._proc is proc:
            self._set_status(f"the backend ended (exit status {proc.returncode}); turn Keep learning off and on "
                             f"to start it again")

    def _handle(self, event: dict) -> None:
        kind = event["event"]
        self.dispatch(lambda: self.backend_event.emit(event))
        if kind == "started":
            self._set_status("learning")
        elif kind == "validation":
            self._last_validation = event
            if event.get("mean_iu") is None:
                self._set_status(NO_VALIDATION_YET)
            else:
                self._set_status("learning")
        elif kind == "checkpoint" and event.get("best") and Path(event["path"]) == self.checkpoint:
            self._publish()
        elif kind == "failed" and not event.get("stopped"):
            self._set_status(f"learning stopped: {event['message']}")

    def _publish(self) -> None:
        val = self._last_validation
        if val is None or val.get("mean_iu") is None:
            return  # no validation set: the backend keeps its newest model, but nothing is swapped in
        with self._lock:
            number = max((v.version for v in self.history), default=0) + 1
            target = self.folder / f"v{number}.safetensors"
            with atomic_path(target) as tmp:
                shutil.copyfile(self.checkpoint, tmp)
            version = ModelVersion(number, str(target), int(val.get("train_images", 0)), int(val.get("val_images", 0)),
                                   float(val["mean_iu"]), val.get("best_mean_iu"), time.time())
            self.history.append(version)
            self._write_history()
        self.dispatch(lambda: self.published.emit(version))
        if not self.pinned:
            self.dispatch(lambda: self.use.emit(version))

    def _set_status(self, text: str) -> None:
        if text != self.status:
            self.status = text
            self.dispatch(lambda: self.status_changed.emit(text))
