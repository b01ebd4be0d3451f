"""Keep learning publishes a numbered version every time a model validates better, each a full copy of
the weights: `models/keep/` grew 226 MB in five minutes. This keeps the pinned and in-use versions, the
best few by their validation mean IU and the newest few, and forgets the rest, so nothing grows without
bound in a day.

Order makes it crash-safe: the versions are first taken out of the model history (one transaction), so
no list (Model History, the Keep learning box, roll back) offers them from then on; only then are their
files deleted. A crash between the two leaves files that no row names, which the next prune sweeps. A
file another row still names, a protected file or one outside `models/keep/` is never deleted."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from fcn_studio.project.model_versions import OLD_HISTORY

KEEP_FOLDER = Path("models") / "keep"
KEEP_BEST = 3  # the best versions by validation mean IU
KEEP_RECENT = 3  # the newest versions
RETENTION = f"Kept: in use, pinned, {KEEP_BEST} best, {KEEP_RECENT} newest"  # one short line in a narrow panel
RETENTION_DETAIL = (f"models/keep/ stays bounded: the version in use, the pinned one, the {KEEP_BEST} best by "
                    f"validation mean IU and the {KEEP_RECENT} newest are kept; the others are deleted.")
_VERSION_FILE = re.compile(r"^\.?v\d+\.safetensors(\.[0-9a-f]+\.tmp)?$")


@dataclass(frozen=True)
class _Recorded:
    run_id: int
    version: int
    path: Path
    mean_iu: float


def _same(a: Path, b: Path) -> bool:
    return os.path.normcase(os.path.abspath(a)) == os.path.normcase(os.path.abspath(b))


def _recorded(project) -> list[_Recorded]:
    found = []
    for run in project.model_runs():
        m = run["metrics"]
        if "keep_version" in m:
            found.append(_Recorded(int(run["id"]), int(m["keep_version"]), Path(run["checkpoint"]),
                                   float(m.get("mean_iu") or 0.0)))
    return found


def versions_to_keep(found: list[_Recorded], protected: list[Path], best: int, recent: int) -> set[int]:
    """The version numbers that stay: the newest `recent`, the best `best` (newer first on a tie) and
    every one whose file is protected (in use, pinned, being loaded)."""
    newest = sorted(found, key=lambda v: v.version)[-recent:] if recent > 0 else []
    top = sorted(found, key=lambda v: (v.mean_iu, v.version))[-best:] if best > 0 else []
    held = [v for v in found if any(_same(v.path, p) for p in protected)]
    return {v.version for v in (*newest, *top, *held)}


def prune_versions(project, protected: Iterable[Path | None] = (), best: int = KEEP_BEST,
                   recent: int = KEEP_RECENT) -> list[int]:
    """Forgets and deletes the keep-learning versions beyond the bound; returns the numbers pruned. The
    project's own model is always protected, with `protected` (the model in use, one being loaded)."""
    folder = project.root / KEEP_FOLDER
    held = [Path(p) for p in (*protected, project.model_path) if p is not None]
    found = _recorded(project)
    keep = versions_to_keep(found, held, best, recent)
    pruned = [v for v in found if v.version not in keep]
    if pruned:
        ids = [v.run_id for v in pruned]
        with project.transaction() as db:  # first out of every list, so nothing offers them
            db.execute(f"DELETE FROM model_runs WHERE id IN ({', '.join('?' * len(ids))})", ids)
    _sweep(project, folder, held)
    return sorted(v.version for v in pruned)


def _sweep(project, folder: Path, held: list[Path]) -> None:
    """Deletes the version files in `models/keep/` that no row of the model history names (just
    forgotten, or left by a prune that crashed) and that nothing holds; a half-written copy too."""
    if not folder.is_dir() or (project.root / OLD_HISTORY).is_file():
        return  # an older FCN Studio's history names its files until it is imported
    named = [Path(run["checkpoint"]) for run in project.model_runs()]
    for path in folder.iterdir():
        if not _VERSION_FILE.match(path.name) or not path.is_file():
            continue
        if any(_same(path, p) for p in (*named, *held)):
            continue
        with contextlib.suppress(OSError):  # open elsewhere (Windows): the next prune tries again
            path.unlink()
