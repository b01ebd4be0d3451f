"""Every file the app writes gets the permissions an ordinary write would (the umask's), so in a lab's
shared folder others can read the checkpoints, exports and caches as they can read the masks. One test
per writer, through the command or call a person's action goes through."""

import os
import stat

import numpy as np
import pytest
import torch
from PIL import Image

from fcn_studio.cli import main
from fcn_studio.core.labels import LabelSet

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
FILE, FOLDER = 0o644, 0o755  # under umask 022


@pytest.fixture(autouse=True)
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def modes(root) -> dict[str, int]:
    """The mode of everything under `root` (or of the file itself), folders marked with a slash."""
    root = root if not root.is_file() else root.parent
    paths = [root / p for p in [""]] + sorted(root.rglob("*"))
    return {f"{p.relative_to(root)}{'/' if p.is_dir() else ''}": stat.S_IMODE(p.lstat().st_mode) for p in paths
            if not p.is_symlink()}


def assert_ordinary(*paths) -> None:
    for path in paths:
        assert path.exists(), path
        got = modes(path) if path.is_dir() else {path.name: stat.S_IMODE(path.stat().st_mode)}
        wrong = {k: oct(v) for k, v in got.items() if v != (FOLDER if k.endswith("/") or k == "./" else FILE)}
        assert not wrong, wrong


def photo(path, seed=0, private=False):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (40, 56, 3), dtype=np.uint8)).save(path)
    if private:
        os.chmod(path, 0o600)  # the person's own photo, private: its copies in an export are ordinary files
    return path


def test_model_new_writes_an_ordinary_checkpoint(tmp_path):
    out = tmp_path / "m.safetensors"
    assert main(["model", "new", "--arch", "fcn32s", "--backbone", "resnet18", "--weights", "none",
                 "--out", str(out)]) == 0
    assert_ordinary(out)


def test_model_convert_writes_an_ordinary_checkpoint(tmp_path):
    from tests.model.caffe_port_reference import PortFCN

    torch.save(PortFCN("fcn32s", fc=16).state_dict(), tmp_path / "port.pth")
    assert main(["model", "convert", str(tmp_path / "port.pth"), str(tmp_path / "c.safetensors")]) == 0
    assert_ordinary(tmp_path / "c.safetensors")


def test_training_writes_ordinary_checkpoints_and_state(tmp_path):
    from tests.training.conftest import small_args, write_easy_voc

    voc = write_easy_voc(tmp_path / "voc", count=6, size=48)
    out = tmp_path / "run" / "best.safetensors"
    assert main(["train", *map(str, small_args(voc, out, "--iterations", "2", "--crop", "32"))]) == 0
    written = sorted((tmp_path / "run").glob("*.safetensors"))
    assert len(written) >= 3  # the best, the last and the resumable state
    assert_ordinary(*written)


def test_an_installed_encoder_and_a_catalogue_checkpoint_are_ordinary(tmp_path, monkeypatch):
    from fcn_studio.model.backbones import build_encoder
    from fcn_studio.model.catalogue import load_catalogue
    from fcn_studio.model.install import convert_to_checkpoint
    from fcn_studio.model.pretrained import install_imagenet_encoder
    from tests.model.caffe_port_reference import PortFCN

    monkeypatch.setenv("FCN_STUDIO_CACHE_DIR", str(tmp_path / "cache"))
    torch.save(build_encoder("resnet18").state_dict(), tmp_path / "resnet18.pth")
    target, _ = install_imagenet_encoder("resnet18", tmp_path / "resnet18.pth")
    torch.save(PortFCN("fcn32s", n_class=21, fc=16).state_dict(), tmp_path / "fcn32s.pth")
    entry = load_catalogue().get("fcn32s-voc-caffe")
    convert_to_checkpoint(entry, tmp_path / "fcn32s.pth", tmp_path / "fcn32s.safetensors")
    assert_ordinary(target, tmp_path / "fcn32s.safetensors")


def test_keep_learning_versions_are_ordinary(tmp_path):
    from fcn_studio.model.checkpoint import save_checkpoint
    from fcn_studio.model.factory import new_model
    from fcn_studio.project.project import Project
    from fcn_studio.training.keep_learning import KeepLearning

    Project.create(tmp_path / "p", LabelSet(("a", "b"))).close()  # versions are recorded in its history
    loop = KeepLearning(tmp_path / "p")
    model, info, _ = new_model("fcn32s", "resnet18", LabelSet(("a", "b")), weights=None)
    save_checkpoint(loop.checkpoint, model, info)  # what the backend saves as its best
    loop._handle({"event": "validation", "mean_iu": 0.5, "best_mean_iu": 0.5, "train_images": 4, "val_images": 1})
    loop._handle({"event": "checkpoint", "best": True, "path": str(loop.checkpoint)})
    assert [v.version for v in loop.history] == [1]
    assert_ordinary(loop.folder)


def test_masks_predictions_confidence_and_journals_are_ordinary(tmp_path):
    from fcn_studio.project.journal import EditJournal
    from fcn_studio.project.project import Project

    project = Project.create(tmp_path / "p", LabelSet(("a", "b")))
    project.add_images([photo(tmp_path / "img" / "x.png", private=True)])
    rec = project.images()[0]
    project.save_prediction(rec.id, np.zeros((40, 56), np.uint8), np.ones((40, 56), np.float32), 0.1)
    project.save_mask(rec.id, np.ones((40, 56), np.uint8))
    journal = EditJournal(project.root)  # what the window's autosaver writes before each save
    journal.append(rec.id, 1, np.ones((40, 56), np.uint8), None)
    assert_ordinary(journal.path(rec.id), project.mask_path(rec.id), project.prediction_path(rec.id),
                    project.confidence_path(rec.id), project.root / "project.sqlite")
    project.close()


def test_thumbnails_are_ordinary(tmp_path):
    from fcn_studio.core.thumbnails import make_thumbnail

    make_thumbnail(photo(tmp_path / "x.png", private=True), cache_dir=tmp_path / "thumbs")
    assert_ordinary(tmp_path / "thumbs")


@pytest.mark.parametrize("fmt", ["voc", "coco", "cityscapes", "masks", "labelme"])
def test_exports_are_ordinary_even_from_private_photos(tmp_path, fmt):
    from fcn_studio.project.formats import ExportOptions, export_project
    from fcn_studio.project.project import Project

    project = Project.create(tmp_path / "p", LabelSet(("road", "car")))
    project.add_images([photo(tmp_path / "img" / "x.png", private=True), photo(tmp_path / "img" / "y.jpg", 1, True)])
    for rec in project.images():
        project.save_mask(rec.id, np.ones((40, 56), np.uint8), "reviewed")
    assert export_project(project, fmt, tmp_path / "out", ExportOptions()) == 2
    assert_ordinary(tmp_path / "out")


def test_predictions_written_by_predict_are_ordinary(tmp_path):
    from fcn_studio.model.checkpoint import save_checkpoint
    from fcn_studio.model.factory import new_model

    model, info, _ = new_model("fcn32s", "resnet18", LabelSet(("a", "b")), weights=None)
    save_checkpoint(tmp_path / "m.safetensors", model, info)
    photo(tmp_path / "in" / "x.png", private=True)
    assert main(["predict", str(tmp_path / "in"), "--model", str(tmp_path / "m.safetensors"), "--out",
                 str(tmp_path / "out"), "--overlay", "--confidence", "--device", "cpu"]) == 0
    assert_ordinary(tmp_path / "out")


def test_downloads_and_their_records_are_ordinary(tmp_path, monkeypatch):
    from fcn_studio.model.catalogue import load_catalogue
    from fcn_studio.model.download import fetch, register_file
    from tests.model import loopback

    monkeypatch.setenv("FCN_STUDIO_CACHE_DIR", str(tmp_path / "cache"))
    server_gen = loopback.serve()
    server = next(server_gen)
    try:
        data = loopback.payload(50_000)
        server.routes["/a.bin"] = loopback.Route(data)
        catalogue = load_catalogue(loopback.use_catalogue(
            tmp_path, monkeypatch, loopback.entry("a", "a.bin", [f"{server.base}/a.bin"], data, fmt="state-dict"),
            loopback.entry("b", "b.bin", [f"{server.base}/b.bin"], data, fmt="state-dict")))
        fetch(catalogue.get("a"))
        (tmp_path / "b.bin").write_bytes(data)
        os.chmod(tmp_path / "b.bin", 0o600)
        register_file(catalogue.get("b"), tmp_path / "b.bin")
    finally:
        next(server_gen, None)
    assert_ordinary(tmp_path / "cache")
