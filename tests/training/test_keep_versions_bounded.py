"""Keep learning publishes a version for every better model; `models/keep/` grew 226 MB in five minutes.
Driven by the backend's own events (validation, then the best checkpoint) on a real project with a real
checkpoint file, the folder stays bounded, the version in use and one rolled back to are never deleted,
and nothing pruned can be rolled back to."""

import pytest

from fcn_studio.core.labels import LabelSet
from fcn_studio.project.model_versions import versions
from fcn_studio.project.project import Project
from fcn_studio.project.version_pruning import KEEP_BEST, KEEP_RECENT
from fcn_studio.training.keep_learning import KeepLearning

LABELS = LabelSet(("background", "blob"), ((0, 0, 0), (255, 0, 0)))


@pytest.fixture
def loop(tmp_path):
    from fcn_studio.model.checkpoint import save_checkpoint  # noqa: PLC0415
    from fcn_studio.model.factory import new_model  # noqa: PLC0415

    project = Project.create(tmp_path / "p", LABELS)
    loop = KeepLearning(project.root, project=project)
    model, info, _ = new_model("fcn8s", "mobilenet_v3_small", LABELS, weights=None)
    loop.folder.mkdir(parents=True)
    save_checkpoint(loop.checkpoint, model, info)  # the backend's best model, which versions copy
    yield loop
    project.close()


def _better_model(loop: KeepLearning, mean_iu: float) -> None:
    """The backend's events for an epoch whose model validated better."""
    loop._handle({"event": "validation", "mean_iu": mean_iu, "best_mean_iu": None, "train_images": 20,
                  "val_images": 5})
    loop._handle({"event": "checkpoint", "path": str(loop.checkpoint), "best": True, "iteration": 1, "epoch": 1})


def _version_files(loop: KeepLearning) -> list[str]:
    return sorted(p.name for p in loop.folder.glob("v*.safetensors"))


def test_the_keep_folder_stays_bounded_over_a_day_of_versions(loop):
    offered = []
    loop.use.connect(offered.append)
    size = loop.checkpoint.stat().st_size
    for n in range(30):
        _better_model(loop, 0.3 + 0.01 * n)
    kept = [v.version for v in versions(loop.project)]
    assert len(offered) == 30 and offered[-1].version == 30
    assert len(kept) <= KEEP_BEST + KEEP_RECENT + 1
    assert 30 in kept and [v.version for v in loop.history] == kept
    assert len(_version_files(loop)) == len(kept)
    folder_mb = sum(p.stat().st_size for p in loop.folder.iterdir()) / 1e6
    print(f"\nmodels/keep after 30 versions: {folder_mb:.1f} MB ({len(kept)} versions; unpruned "
          f"{(30 * size + size) / 1e6:.1f} MB)")
    assert folder_mb * 1e6 <= (KEEP_BEST + KEEP_RECENT + 2) * size


def test_a_version_rolled_back_to_and_pinned_is_never_pruned(loop):
    for n in range(3):
        _better_model(loop, 0.1 + 0.01 * n)
    chosen = loop.rollback(1)  # the person pins the worst, oldest version
    for n in range(20):
        _better_model(loop, 0.5 + 0.01 * n)
    assert 1 in [v.version for v in versions(loop.project)]
    assert "v1.safetensors" in _version_files(loop) and loop.in_use.name == "v1.safetensors"
    assert chosen.version == 1
    gone = min(set(range(1, 24)) - {v.version for v in loop.history})
    with pytest.raises(KeyError):  # a pruned version cannot be offered
        loop.rollback(gone)
