"""One rule for where FCN Studio's cache is, for the models and the thumbnails alike."""

from pathlib import Path

import numpy as np
from PIL import Image

from fcn_studio.core.cache import MODELS, THUMBNAILS, cache_folder, platform_cache_root
from fcn_studio.core.thumbnails import make_thumbnail
from fcn_studio.model.cache import models_cache_dir


def test_the_cache_folder_is_the_platforms():
    home = Path("/home/ann")
    assert platform_cache_root("linux", {}, home) == home / ".cache"
    assert platform_cache_root("linux", {"XDG_CACHE_HOME": "/fast/cache"}, home) == Path("/fast/cache")
    assert platform_cache_root("linux", {"XDG_CACHE_HOME": "relative"}, home) == home / ".cache"  # per the spec
    assert platform_cache_root("darwin", {}, home) == home / "Library" / "Caches"
    assert platform_cache_root("darwin", {"XDG_CACHE_HOME": "/x"}, home) == Path("/x")
    local = str(Path("/users/ann/local").absolute())
    assert platform_cache_root("win32", {"LOCALAPPDATA": local}, home) == Path(local)
    assert platform_cache_root("win32", {}, home) == home / "AppData" / "Local"


def test_every_kind_follows_the_same_rule():
    home = Path("/home/ann")
    for platform, env in (("darwin", {}), ("win32", {"LOCALAPPDATA": str(Path("/l").absolute())}),
                          ("linux", {"XDG_CACHE_HOME": "relative"})):
        root = platform_cache_root(platform, env, home) / "fcn-studio"
        assert cache_folder(THUMBNAILS, platform, env, home) == root / "thumbnails"
        assert cache_folder(MODELS, platform, env, home) == root / "models"
    mine = {"FCN_STUDIO_CACHE_DIR": "/scratch/fcn"}  # the models folder itself, the other kinds inside it
    assert cache_folder(MODELS, "linux", mine, home) == Path("/scratch/fcn")
    assert cache_folder(THUMBNAILS, "darwin", mine, home) == Path("/scratch/fcn/thumbnails")


def _thumbnail_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.jpg")) if folder.is_dir() else []


def test_thumbnails_go_where_the_models_go(tmp_path, monkeypatch):
    image = tmp_path / "photo.png"
    Image.fromarray(np.full((40, 60, 3), 90, np.uint8)).save(image)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("USERPROFILE", str(tmp_path / "home"))
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "local"))
    monkeypatch.delenv("FCN_STUDIO_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", "relative")  # not absolute: ignored for models, so for thumbnails too
    make_thumbnail(image, 32)
    assert _thumbnail_files(models_cache_dir().parent / "thumbnails")
    assert not _thumbnail_files(tmp_path / "relative")
    monkeypatch.setenv("FCN_STUDIO_CACHE_DIR", str(tmp_path / "moved"))  # one setting moves the whole cache
    make_thumbnail(image, 32)
    assert models_cache_dir() == tmp_path / "moved" and _thumbnail_files(tmp_path / "moved" / "thumbnails")
