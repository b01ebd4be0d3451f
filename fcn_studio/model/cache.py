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

from pathlib import Path

from fcn_studio.core.cache import MODELS, cache_folder


def models_cache_dir() -> Path:
    """The models folder, by the one cache rule (core.cache): FCN_STUDIO_CACHE_DIR, else the platform's."""
    return cache_folder(MODELS)


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


def click_start_path() -> Path:
    """The machine's start click model (made once from the ImageNet encoder and generated images, by
    training.click_lane), whether or not it is there yet; the name carries the click model's format."""
    return models_cache_dir() / "click" / "click-start-v2.safetensors"
