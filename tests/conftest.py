import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def smooth_image(h: int, w: int) -> np.ndarray:
    """A deterministic, smoothly varying RGB image (no noise), for semantic comparisons."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = 128 + 100 * np.sin(xx / 23.0)
    g = 128 + 100 * np.cos(yy / 31.0)
    b = 128 + 100 * np.sin((xx + yy) / 47.0)
    return np.stack([r, g, b], -1).astype(np.uint8)
