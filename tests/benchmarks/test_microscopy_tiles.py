"""The loop benchmark's real microscopy: StarDist's nuclei image cut into 16 tiles of 16-bit images and
2-class masks, which the app reads as it reads a user's files."""

import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from fcn_studio.core.image_io import load_image
from fcn_studio.core.mask_io import read_mask

ROOT = Path(__file__).resolve().parents[2]


def test_sixteen_16_bit_tiles_with_two_class_masks(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "microscopy_tiles.py"), str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    images = sorted((tmp_path / "images").iterdir())
    assert len(images) == 16 and [p.name for p in images] == sorted(p.name for p in (tmp_path / "masks").iterdir())
    nuclei = 0.0
    for path in images:
        raw = np.array(Image.open(path))
        assert raw.dtype == np.uint16 and raw.shape == (128, 128)
        assert load_image(path).shape == (128, 128, 3)  # the app's loader stretches it to 8 bits
        mask = read_mask(tmp_path / "masks" / path.name)
        assert set(np.unique(mask)) <= {0, 1}
        nuclei += mask.mean() / 16
    assert 0.1 < nuclei < 0.5  # a real image: nuclei cover a fifth to a quarter of it
