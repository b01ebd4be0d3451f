"""`models/keep/` stays bounded: keep learning records a version each time a model validates better,
and after each one only the model in use, the pinned one, the best few and the newest few are kept.
Pruned versions leave the model history (so nothing lists or offers them) before their files go, and a
crash between the two leaves a consistent history whose orphan files the next prune deletes."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fcn_studio.core.labels import LabelSet
from fcn_studio.project.model_versions import ModelVersion, record_version, versions
from fcn_studio.project.project import Project
from fcn_studio.project.version_pruning import KEEP_BEST, KEEP_RECENT, prune_versions

ROOT = Path(__file__).resolve().parents[2]
LABELS = LabelSet(("background", "blob"), ((0, 0, 0), (255, 0, 0)))
# validation mean IU of v1..v20: the best three are v4, v9 and v13, none of them among the newest
SCORES = [0.30, 0.35, 0.40, 0.90, 0.41, 0.42, 0.43, 0.44, 0.88, 0.45, 0.46, 0.47, 0.89, 0.48, 0.49, 0.50,
          0.51, 0.52, 0.53, 0.54]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> bytes:
    """A real checkpoint (FCN-8s on MobileNetV3-small, 3.7 MB): the bytes every version copies."""
    from fcn_studio.model.checkpoint import save_checkpoint  # noqa: PLC0415
    from fcn_studio.model.factory import new_model  # noqa: PLC0415

    model, info, _ = new_model("fcn8s", "mobilenet_v3_small", LABELS, weights=None)
    path = tmp_path_factory.mktemp("ckpt") / "m.safetensors"
    save_checkpoint(path, model, info)
    return path.read_bytes()


def _publish(project: Project, number: int, data: bytes) -> Path:
    """What keep learning does for a better model: a copy of its weights, recorded as a version."""
    path = project.root / "models" / "keep" / f"v{number}.safetensors"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    record_version(project, ModelVersion(number, str(path), 10 + number, 5, SCORES[number - 1], None, 1e9 + number))
    return path


def _folder_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.iterdir()) / 1e6


def test_a_day_of_versions_keeps_the_pinned_the_in_use_the_best_and_the_newest(tmp_path, checkpoint):
    project = Project.create(tmp_path / "p", LABELS)
    folder = tmp_path / "p" / "models" / "keep"
    sizes = []
    in_use = None
    for n in range(1, 21):
        path = _publish(project, n, checkpoint)
        if n == 2:
            project.set_model_path(path)  # the person pinned v2 (the project's model)
        in_use = path if n == 15 else in_use  # v15 is being loaded in the window
        prune_versions(project, protected=[in_use])
        sizes.append(_folder_mb(folder))
    kept = sorted(v.version for v in versions(project))
    assert kept == [2, 4, 9, 13, 15, 18, 19, 20]  # pinned, best three, in use, newest three
    assert len(kept) <= KEEP_BEST + KEEP_RECENT + 2
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"v{n}.safetensors" for n in kept)
    assert max(sizes) <= (KEEP_BEST + KEEP_RECENT + 2) * len(checkpoint) / 1e6  # bounded all day long
    print(f"\nmodels/keep after 20 versions: {sizes[-1]:.1f} MB (unpruned: {20 * len(checkpoint) / 1e6:.1f} MB)")
    listed = [Path(r["checkpoint"]).name for r in project.model_runs()]  # what Model > Model History lists
    assert listed == [f"v{n}.safetensors" for n in reversed(kept)]
    project.close()


def test_the_model_history_dialog_lists_no_pruned_version(tmp_path, checkpoint, qtbot):
    from fcn_studio.ui.models.model_history import ModelHistoryDialog  # noqa: PLC0415

    project = Project.create(tmp_path / "p", LABELS)
    for n in range(1, 11):
        _publish(project, n, checkpoint)
        prune_versions(project, best=1, recent=2)
    dialog = ModelHistoryDialog(project.model_runs(), None)
    qtbot.addWidget(dialog)
    shown = [dialog.table.item(r, 0).text() for r in range(dialog.table.rowCount())]
    assert shown == ["v10.safetensors", "v9.safetensors", "v4.safetensors"]
    assert all(row.exists for row in dialog.rows)  # every row offered can be used
    project.close()


def test_a_file_held_elsewhere_or_outside_the_keep_folder_is_never_deleted(tmp_path, checkpoint):
    project = Project.create(tmp_path / "p", LABELS)
    outside = tmp_path / "elsewhere.safetensors"  # an old history may name a file outside models/keep
    outside.write_bytes(checkpoint)
    record_version(project, ModelVersion(1, str(outside), 5, 5, 0.1, None, 1e9))
    current = project.root / "models" / "keep" / "current.safetensors"  # the backend's own files
    current.parent.mkdir(parents=True)
    current.write_bytes(checkpoint)
    for n in range(2, 8):
        _publish(project, n, checkpoint)
        prune_versions(project, best=1, recent=1)
    assert outside.is_file() and current.is_file()
    assert 1 not in [v.version for v in versions(project)]
    project.close()


CRASHING_PRUNE = """
import os, sys
from pathlib import Path
from fcn_studio.project.project import Project
from fcn_studio.project.version_pruning import prune_versions

real_unlink = Path.unlink
def crash(self, *a, **k):  # the process dies as the first file is being deleted
    os._exit(3)
Path.unlink = crash
project = Project.open(sys.argv[1])
prune_versions(project, best=1, recent=1)
"""


def test_a_crash_mid_prune_leaves_a_consistent_history_and_the_next_prune_finishes(tmp_path, checkpoint):
    project = Project.create(tmp_path / "p", LABELS)
    for n in range(1, 7):
        _publish(project, n, checkpoint)
    project.close()
    child = subprocess.run([sys.executable, "-c", CRASHING_PRUNE, str(tmp_path / "p")], cwd=ROOT,
                           env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=120)
    assert child.returncode == 3, child.stderr
    project = Project.open(tmp_path / "p")
    listed = versions(project)
    assert [v.version for v in listed] == [4, 6]  # the best and the newest
    assert all(Path(v.path).is_file() for v in listed)  # nothing listed lacks its file
    folder = tmp_path / "p" / "models" / "keep"
    assert len(list(folder.glob("v*.safetensors"))) == 6  # the crash left the files of the forgotten ones
    prune_versions(project, best=1, recent=1)
    assert sorted(p.name for p in folder.iterdir()) == ["v4.safetensors", "v6.safetensors"]
    project.close()
