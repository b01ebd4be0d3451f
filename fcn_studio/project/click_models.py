"""The click model's versions in the project's one model history (`model_runs`, beside the semantic
model's), so Model > Model History shows them too and Save as Project carries them. A version is a run
whose metrics carry `click_version`; its score is NoC@85 (mean clicks to 85% IoU, fewer is better) on
the project's validation objects, with the score of the model it replaced on the same objects."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CLICK_NOTE = "click model"
FOLDER = Path("models") / "click"


@dataclass(frozen=True)
class ClickVersion:
    version: int
    path: str
    noc85: float
    previous_noc85: float | None  # the model it replaced, on the same objects
    trained_objects: int
    val_objects: int
    time: float

    def brief(self) -> str:
        was = "" if self.previous_noc85 is None else f" (was {self.previous_noc85:.2f})"
        return (f"click v{self.version}  {self.noc85:.2f} clicks{was} on {self.val_objects} "
                f"object{'s' * (self.val_objects != 1)}")


def record_click_version(project, v: ClickVersion) -> int:
    metrics = {"click_version": v.version, "noc85": v.noc85, "previous_noc85": v.previous_noc85,
               "trained_objects": v.trained_objects, "val_objects": v.val_objects, "time": v.time}
    return project.record_model_run(v.path, metrics, f"{CLICK_NOTE} v{v.version}")


def click_versions(project) -> list[ClickVersion]:
    """The project's click-model versions, oldest first."""
    found = []
    for run in reversed(project.model_runs()):
        m = run["metrics"]
        if "click_version" in m:
            found.append(ClickVersion(int(m["click_version"]), str(run["checkpoint"]), float(m["noc85"]),
                                      m.get("previous_noc85"), int(m.get("trained_objects", 0)),
                                      int(m.get("val_objects", 0)), float(m.get("time", 0.0))))
    return found


def next_version_path(project_root: Path, versions: list[ClickVersion]) -> tuple[int, Path]:
    number = max((v.version for v in versions), default=0) + 1
    path = Path(project_root) / FOLDER / f"click-v{number}.safetensors"
    while path.exists():  # a file from a version that never reached the history (a crash between)
        number += 1
        path = path.with_name(f"click-v{number}.safetensors")
    return number, path
