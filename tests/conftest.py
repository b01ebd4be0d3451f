import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# The click model's start model is made in 1 step on 4 images, and its learning lane stays off unless a
# test turns it on: otherwise every keep-learning test would train a second model beside the first.
os.environ.setdefault("FCN_STUDIO_CLICK_START_STEPS", "1")
os.environ.setdefault("FCN_STUDIO_CLICK_LANE", "off")

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


@pytest.fixture
def small_disk(tmp_path):
    """A real, tiny filesystem (tmpfs, 2 MB) to fill up; skipped where mounting is not allowed."""
    import subprocess

    folder = tmp_path / "disk"
    folder.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(folder)],
                      capture_output=True).returncode != 0:
        pytest.skip("mounting a tmpfs needs root")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


@pytest.fixture
def read_only():
    """read_only(folder) makes a real folder read-only (a read-only bind mount of itself) until the
    test ends; skipped where mounting is not allowed. Unlike chmod, it binds root too."""
    import subprocess

    mounted = []

    def make(folder):
        """Returns a function that makes the folder writable again."""
        folder = str(folder)
        if subprocess.run(["mount", "--bind", folder, folder], capture_output=True).returncode != 0:
            pytest.skip("bind mounts need root")
        mounted.append(folder)
        subprocess.run(["mount", "-o", "remount,bind,ro", folder], check=True, capture_output=True)

        def undo() -> None:
            subprocess.run(["umount", "-l", folder], capture_output=True)
            mounted.remove(folder)
        return undo

    yield make
    for folder in reversed(mounted):
        subprocess.run(["umount", "-l", folder], capture_output=True)
