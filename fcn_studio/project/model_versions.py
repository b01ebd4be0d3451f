"""Keep learning's numbered versions live in the project's one model history (`model_runs`, beside the
one-shot runs and the models made for it), so Model > Model History and the Keep learning panel read
the same place and Save as Project carries them. A version is a run whose metrics carry its number
(`keep_version`). Projects from before kept them in `models/keep/history.json`: imported once, when the
project opens, and the file renamed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from fcn_studio.core.splits import measured_on

KEEP_NOTE = "keep learning"
OLD_HISTORY = Path("models") / "keep" / "history.json"
IMPORTED_SUFFIX = ".imported"


@dataclass(frozen=True)
class ModelVersion:
    version: int
    path: str
    trained_images: int
    val_images: int
    mean_iu: float
    previous_mean_iu: float | None  # the model it replaces, scored on the same validation images
    time: float
    val_regions: int = 0  # training images whose held-out regions validated too (core.splits)
    val_pixels: int | None = None  # labelled pixels scored (None: a version from before they were counted)

    def measured_on(self) -> str:
        """What both scores were measured on (core.splits.measured_on)."""
        return measured_on(self.val_images, self.val_regions, self.val_pixels)

    @property
    def scored_images(self) -> int:
        return self.val_images + self.val_regions

    def scores(self) -> tuple[str, str | None]:
        """(mean IU, the replaced model's) as text, with a third decimal when two would read alike."""
        digits = 3 if self.previous_mean_iu is not None and round(self.mean_iu, 2) == round(self.previous_mean_iu, 2) \
            else 2
        was = None if self.previous_mean_iu is None else f"{self.previous_mean_iu:.{digits}f}"
        return f"{self.mean_iu:.{digits}f}", was

    def describe(self) -> str:
        now, was = self.scores()
        same = "" if was is None else f", was {was} for the model it replaced, both"
        return (f"v{self.version}, trained on {self.trained_images} images, validation mean IU "
                f"{now}{same} measured on {self.measured_on()}")

    def brief(self) -> str:
        """One short line for a narrow list: version, score (and the one it beat on the same pixels), the
        images it was measured on (a later version's set is larger: compare a row's two scores, not rows)."""
        now, was = self.scores()
        n = self.scored_images
        return f"v{self.version}  {now}{'' if was is None else f' (was {was})'} on {n} image{'s' * (n != 1)}"


def record_version(project, version: ModelVersion) -> int:
    """Adds `version` to the project's model history."""
    metrics = {"mean_iu": version.mean_iu, "previous_mean_iu": version.previous_mean_iu,
               "keep_version": version.version, "trained_images": version.trained_images,
               "val_images": version.val_images, "time": version.time, "val_regions": version.val_regions,
               "val_pixels": version.val_pixels}
    return project.record_model_run(version.path, metrics, f"{KEEP_NOTE} v{version.version}")


def versions(project) -> list[ModelVersion]:
    """The project's keep-learning versions, oldest first."""
    found = []
    for run in reversed(project.model_runs()):
        m = run["metrics"]
        if "keep_version" not in m:
            continue
        found.append(ModelVersion(int(m["keep_version"]), str(run["checkpoint"]), int(m.get("trained_images", 0)),
                                  int(m.get("val_images", 0)), float(m.get("mean_iu") or 0.0),
                                  m.get("previous_mean_iu"), float(m.get("time", 0.0)),
                                  int(m.get("val_regions") or 0), m.get("val_pixels")))
    return found


def import_old_history(project) -> int:
    """Moves an old `models/keep/history.json` into the model history (versions already there are
    skipped) and renames the file, so it is read once; returns how many versions came in. A file that
    cannot be read is left where it is."""
    path = project.root / OLD_HISTORY
    if not path.is_file():
        return 0
    try:
        old = [ModelVersion(**v) for v in json.loads(path.read_text("utf-8"))]
    except (OSError, ValueError, TypeError):
        return 0
    known = {v.version for v in versions(project)}
    added = 0
    for version in sorted(old, key=lambda v: v.version):
        if version.version not in known:
            record_version(project, version)
            added += 1
    try:
        path.replace(path.with_name(path.name + IMPORTED_SUFFIX))
    except OSError:
        pass  # read-only: the versions are known now and not added twice
    return added
