"""Where FCN Studio keeps model files it did not train itself: ImageNet encoders today, the
pretrained-model catalogue's downloads. Torch-free, so asking what is cached costs nothing.

Layout under the cache folder:
- `encoders/<backbone>-imagenet.safetensors`: an encoder state dict in our own module names, written by
  `pretrained.install_imagenet_encoder`.
- `downloads/<file>`: a catalogue file as published, present only once complete and verified; beside it
  `<file>.part` (+ `.part.json`, what a resume needs) while it downloads, and `<file>.sha256` (the hash
  it was verified with; for files no publisher pins, the hash trusted on first use).
- `checkpoints/<name>.safetensors`: a catalogue model converted to our checkpoint format."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

CACHE_ENV = "FCN_STUDIO_CACHE_DIR"  # the models folder itself; tests point it at a temporary folder


def platform_cache_root(platform: str = sys.platform, env: Mapping[str, str] = os.environ,
                        home: Path | None = None) -> Path:
    """The user's cache folder: $XDG_CACHE_HOME where set (absolute, as the spec requires), else
    ~/Library/Caches on macOS, %LOCALAPPDATA% on Windows, ~/.cache elsewhere."""
    home = home if home is not None else Path.home()
    xdg = env.get("XDG_CACHE_HOME", "")
    if xdg and Path(xdg).is_absolute():
        return Path(xdg)
    if platform == "darwin":
        return home / "Library" / "Caches"
    if platform == "win32":
        local = env.get("LOCALAPPDATA", "")
        return Path(local) if local else home / "AppData" / "Local"
    return home / ".cache"


def models_cache_dir() -> Path:
    override = os.environ.get(CACHE_ENV, "")
    if override:
        return Path(override)
    return platform_cache_root() / "fcn-studio" / "models"


def encoder_cache_path(backbone: str) -> Path:
    """Where the ImageNet encoder for `backbone` lives in our cache, whether or not it is there."""
    return models_cache_dir() / "encoders" / f"{backbone}-imagenet.safetensors"


def cached_encoder_file(backbone: str) -> Path | None:
    path = encoder_cache_path(backbone)
    return path if path.is_file() else None


def downloads_dir() -> Path:
    return models_cache_dir() / "downloads"


def download_path(file: str) -> Path:
    """Where the catalogue file `file` lives once downloaded and verified, whether or not it is there."""
    return downloads_dir() / file


def partial_path(file: str) -> Path:
    """The download of `file` in progress: never mistaken for the file, since its name differs."""
    return downloads_dir() / f"{file}.part"


def record_path(file: str) -> Path:
    """`sha256sum -c` style record of the hash `file` was verified (or first trusted) with."""
    return downloads_dir() / f"{file}.sha256"


def catalogue_checkpoint_path(name: str) -> Path:
    """Where catalogue model `name` lives once converted to our checkpoint format."""
    return models_cache_dir() / "checkpoints" / f"{name}.safetensors"
