"""The click model of the open project: which file the Click tool uses, making the machine's start
model once, and the click model's keep-learning lane. One owner (`ws.clicks`), Qt-free.

- In use: the project's chosen version (project.click_model_path) while its file is there, else the
  machine's start model (made once per machine, in the background, by training.click_lane; the tool
  says so meanwhile), else none.
- Keep learning: whenever the project's keep-learning loop runs, a second backend, the click lane, runs
  beside it at the same low priority on one core; each version it saves is recorded in the project's
  model history and swapped in unless the click model is pinned. Rolling back picks an older version
  (and pins). A lane that dies is logged and started again, at most MAX_RESTARTS times in a row."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from fcn_studio.model.cache import click_start_path
from fcn_studio.project.click_models import FOLDER, ClickVersion, click_versions, record_click_version
from fcn_studio.training.backend import STOPPED, Backend
from fcn_studio.workspace.events import Event

log = logging.getLogger(__name__)
LANE = "fcn_studio.training.click_lane"
START_SECONDS = 240.0  # training of the start model on generated images (once per machine)
MAX_RESTARTS = 3
# FCN_STUDIO_CLICK_START_STEPS=N makes a start model of N steps on a few images (tests, slow machines);
# FCN_STUDIO_CLICK_LANE=off keeps the click model from learning beside keep learning (the same).
START_STEPS_ENV, LANE_ENV = "FCN_STUDIO_CLICK_START_STEPS", "FCN_STUDIO_CLICK_LANE"


def _start_args() -> list[str]:
    steps = os.environ.get(START_STEPS_ENV)
    return ["--steps", steps, "--images", "4"] if steps else ["--seconds", str(START_SECONDS)]


class ClickModels:
    def __init__(self, ws) -> None:
        self.ws = ws
        self.changed = Event()  # (path or None) the click model to use from now on
        self.status = Event()  # (text) what the click model is doing, for the status bar and the tool
        self.state = ""
        self.start_args = _start_args()
        self.module = LANE  # the process both the start model and the lane run in
        self.lane_args: list[str] = []  # tests: ["--round-steps", "2"]
        self.maker: Backend | None = None
        self._made = 0.0  # the share of the start model's training done
        self.lane: Backend | None = None
        self._lane_root: Path | None = None
        self._restarts = 0
        self.closing = False
        ws.project_changed.connect(lambda _p: self._project_changed())
        ws.runs.changed.connect(self._follow_keep_learning)

    # -- which model ----------------------------------------------------------------------------------
    def path(self) -> Path | None:
        project = self.ws.project
        chosen = None if project is None or project.closed else project.click_model_path
        if chosen is not None and chosen.is_file():
            return chosen
        start = click_start_path()
        return start if start.is_file() else None

    def versions(self) -> list[ClickVersion]:
        project = self.ws.project
        return [] if project is None or project.closed or project.temporary else click_versions(project)

    def in_use(self) -> ClickVersion | None:
        path = self.path()
        return next((v for v in reversed(self.versions()) if path is not None and Path(v.path) == path), None)

    def _say(self, text: str) -> None:
        self.state = text
        self.status.emit(text)

    def _project_changed(self) -> None:
        self._stop_lane()
        self._restarts = 0
        self.changed.emit(self.path())
        self._follow_keep_learning()

    # -- the start model ------------------------------------------------------------------------------
    def ensure(self) -> bool:
        """True when a click model is there to use; else starts making the start model (once)."""
        if self.path() is not None:
            return True
        if self.maker is None and not self.closing:
            self._make_start()
        return False

    def _make_start(self) -> None:
        target = click_start_path()
        target.parent.mkdir(parents=True, exist_ok=True)
        dispatch = self.ws.dispatch
        maker = Backend(["--make-start", target, *self.start_args], low_priority=True, module=self.module)
        maker.on_event = lambda event: dispatch(lambda: self._maker_event(event))
        maker.on_ended = lambda ok, message: dispatch(lambda: self._maker_ended(maker, ok, message))
        self.maker, self._made = maker, 0.0
        self._say("making the click model (once on this computer, a few minutes)...")
        maker.start()

    def _maker_event(self, event: dict) -> None:
        fraction = event.get("fraction") if event["event"] == "progress" else None
        if fraction is not None and int(fraction * 20) != int(self._made * 20):  # every 5%, not every step
            self._made = fraction
            self._say(f"making the click model (once on this computer): {fraction:.0%}")

    def _maker_ended(self, maker: Backend, ok: bool, message: str) -> None:
        if maker is not self.maker:
            return
        self.maker = None
        if ok and click_start_path().is_file():
            self._say("click model ready")
            self.changed.emit(self.path())
            self._follow_keep_learning()
        elif message != STOPPED:
            log.warning("the start click model was not made: %s\n%s", message, maker.stderr_tail[-2000:])
            self._say(f"the click model could not be made: {message}")

    # -- keep learning's second lane --------------------------------------------------------------------
    def _follow_keep_learning(self) -> None:
        """The lane runs exactly while the project's keep-learning loop does."""
        runs = self.ws.runs
        want = runs.loop is not None and not runs.closing and not self.closing \
            and os.environ.get(LANE_ENV, "on") != "off"
        if want and self.lane is None:
            self._start_lane()
        elif not want:
            self._stop_lane()

    def _start_lane(self) -> None:
        project, start = self.ws.project, self.path()
        if project is None or project.temporary or start is None:
            if start is None:
                self.ensure()  # the lane starts once the start model is made
            return
        versions = click_versions(project)
        first = max((v.version for v in versions), default=0) + 1
        args = [project.root, "--start", start, "--out", project.root / FOLDER, "--first-version", first,
                "--follow", *self.lane_args]
        dispatch = self.ws.dispatch
        lane = Backend(args, low_priority=True, module=self.module)
        lane.on_event = lambda event: dispatch(lambda: self._lane_event(lane, event))
        lane.on_ended = lambda ok, message: dispatch(lambda: self._lane_ended(lane, ok, message))
        self.lane, self._lane_root = lane, project.root
        lane.start()

    def _stop_lane(self) -> None:
        lane, self.lane = self.lane, None
        if lane is not None:
            lane.stop()

    def _lane_event(self, lane: Backend, event: dict) -> None:
        if lane is not self.lane:
            return
        if event["event"] == "warning":
            log.warning("click lane: %s", event["message"])
        if event["event"] == "validation" and event.get("model") == "click":
            log.info("click lane: a round needed %.2f clicks per object against %.2f for the model in use, on %d "
                     "objects: kept the model in use", event["noc85"], event["previous_noc85"], event["val_objects"])
        if event["event"] == "checkpoint" and event.get("model") == "click":
            self._restarts = 0
            self._record(event)

    def _record(self, event: dict) -> None:
        project = self.ws.project
        if project is None or project.closed or project.root != self._lane_root:
            return
        version = ClickVersion(int(event["version"]), str(event["path"]), float(event["noc85"]),
                               event.get("previous_noc85"), int(event.get("trained_objects", 0)),
                               int(event.get("val_objects", 0)), float(event["time"]))
        record_click_version(project, version)
        if project.click_pinned:
            self._say(f"click model v{version.version} saved (pinned: not swapped in)")
            return
        project.set_click_model_path(version.path)
        self._say(f"click model v{version.version} in use: {version.noc85:.2f} clicks per object "
                  f"(was {version.previous_noc85:.2f}) on {version.val_objects} objects")
        self.changed.emit(Path(version.path))

    def _lane_ended(self, lane: Backend, ok: bool, message: str) -> None:
        if lane is not self.lane:
            return
        self.lane = None
        if message == STOPPED or self.closing:
            return
        log.warning("the click model's lane ended: %s\n%s", message, lane.stderr_tail[-2000:])
        self._restarts += 1
        if self._restarts > MAX_RESTARTS:
            self._say(f"the click model stopped learning: {message}")
            return
        self._follow_keep_learning()

    # -- choices --------------------------------------------------------------------------------------
    def pin(self, on: bool) -> None:
        project = self.ws.project
        if project is not None and not project.closed and not project.temporary:
            project.set_click_pinned(on)

    def roll_back(self, number: int) -> bool:
        """Uses an earlier version and pins, so the next improvement does not replace it."""
        chosen = next((v for v in self.versions() if v.version == number), None)
        if chosen is None or not Path(chosen.path).is_file():
            return False
        self.pin(True)
        self.ws.project.set_click_model_path(chosen.path)
        self._say(f"click model v{number} in use (pinned)")
        self.changed.emit(Path(chosen.path))
        return True

    def stop_all(self) -> None:
        """Quitting: both backends are asked to stop (never waits; a lane stops at its next step)."""
        self.closing = True
        for backend in (self.maker, self.lane):
            if backend is not None:
                backend.stop()
