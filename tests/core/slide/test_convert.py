"""Flat images too large to open become tiled pyramids: level 0 is the source exactly, the coarser
levels are the display's halvings, progress is told, and a cancel leaves no file behind."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import tifffile
from PIL import Image

from fcn_studio.core.image_io import ImageLoadError
from fcn_studio.core.pyramid import halve
from fcn_studio.core.slide import TileCache, open_slide
from fcn_studio.core.slide.convert import Cancelled, convert_to_pyramid
from tests.core.slide.conftest import photo


@pytest.mark.parametrize("suffix", [".png", ".tif", ".jpg"])
def test_level_0_is_the_source_and_levels_are_halvings(tmp_path, suffix):
    img = photo(700, 1100)
    src = tmp_path / f"flat{suffix}"
    if suffix == ".tif":
        tifffile.imwrite(src, img, rowsperstrip=16)  # strips, as scanners' flat exports are
    else:
        Image.fromarray(img).save(src, quality=95)
    truth = np.asarray(Image.open(src).convert("RGB"))
    seen = []
    out = convert_to_pyramid(src, tmp_path / "flat.ome.tif", progress=lambda d, t: seen.append((d, t)), tile=128)
    with open_slide(out, cache=TileCache()) as slide:
        assert [lv.shape for lv in slide.levels] == [(700, 1100), (350, 550), (175, 275)]  # down to 512 px
        assert slide.levels[0].tile == (128, 128)
        np.testing.assert_array_equal(slide.read_region(0, (0, 0, 700, 1100)), truth)
        np.testing.assert_array_equal(slide.read_region(1, (0, 0, 350, 550)), halve(truth))
        np.testing.assert_array_equal(slide.read_region(2, (0, 0, 175, 275)), halve(halve(truth)))
    assert seen == [(i + 1, 6 + 3 + 2) for i in range(11)]  # tile rows: 6 at level 0, 3 at 1, 2 at 2
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([src.name, "flat.ome.tif"])


def test_16_bit_tiff_keeps_its_values(tmp_path):
    grey = np.random.default_rng(1).integers(0, 4096, (600, 530), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "g.tif", grey, rowsperstrip=32)
    out = convert_to_pyramid(tmp_path / "g.tif", tmp_path / "g.ome.tif", tile=128)
    np.testing.assert_array_equal(tifffile.imread(out, level=0), grey)
    assert tifffile.imread(out, level=1).shape == (300, 265)


def test_cancel_leaves_no_file(tmp_path):
    src = tmp_path / "flat.png"
    Image.fromarray(photo(700, 1100)).save(src)
    cancel = threading.Event()

    def progress(done, total):
        if done == 3:
            cancel.set()

    with pytest.raises(Cancelled):
        convert_to_pyramid(src, tmp_path / "out.ome.tif", progress=progress, cancel=cancel, tile=128)
    assert [p.name for p in tmp_path.iterdir()] == ["flat.png"]  # no output, no temporary file or folder


def test_an_unreadable_source_is_named(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(ImageLoadError, match="bad.png"):
        convert_to_pyramid(bad, tmp_path / "out.ome.tif")
    assert [p.name for p in tmp_path.iterdir()] == ["bad.png"]
