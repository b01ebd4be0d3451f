"""Slides read tile by tile: the file's own levels, regions equal to the pixels written, only the tiles a
region touches decoded, a cache that keeps to its budget, and one-line errors for what is not a slide."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from fcn_studio.core.image_io import ImageLoadError, stretch_to_rgb
from fcn_studio.core.slide import TileCache, open_slide
from tests.core.slide.conftest import halvings, photo, write_ome_zarr, write_tiff

REGIONS = [(0, 0, 50, 70), (37, 61, 140, 200), (10, 5, 300, 450)]


@pytest.mark.parametrize("subifds,ome", [(True, False), (False, False), (True, True)])
def test_levels_and_regions_equal_the_written_pixels(tmp_path, pyramid, subifds, ome):
    path = write_tiff(tmp_path / ("s.ome.tif" if ome else "s.tif"), pyramid, subifds=subifds, ome=ome)
    with open_slide(path, cache=TileCache()) as slide:
        assert [lv.shape for lv in slide.levels] == [(300, 450), (150, 225), (75, 113)]
        assert [lv.downsample for lv in slide.levels] == pytest.approx([1.0, 2.0, 3.99], abs=0.02)
        assert slide.levels[0].tile == (64, 64) and slide.shape == (300, 450)
        for k, truth in enumerate(pyramid):
            for y0, x0, y1, x1 in REGIONS:
                y1, x1 = min(y1, truth.shape[0]), min(x1, truth.shape[1])
                np.testing.assert_array_equal(slide.read_region(k, (y0, x0, y1, x1)), truth[y0:y1, x0:x1])


def test_outside_the_image_is_white(tmp_path, pyramid):
    with open_slide(write_tiff(tmp_path / "s.tif", pyramid), cache=TileCache()) as slide:
        region = slide.read_region(0, (280, 430, 320, 470))
    np.testing.assert_array_equal(region[:20, :20], pyramid[0][280:, 430:])
    assert (region[20:] == 255).all() and (region[:, 20:] == 255).all()


def test_jpeg_tiles_decode_as_tifffile_decodes_them(tmp_path, pyramid):
    path = write_tiff(tmp_path / "j.tif", pyramid, compression="jpeg")
    with open_slide(path, cache=TileCache()) as slide:
        for k in range(3):
            truth = tifffile.imread(path, level=k)
            np.testing.assert_array_equal(slide.read_region(k, (3, 17, 70, 111)), truth[3:70, 17:111])
            assert np.abs(truth.astype(int) - pyramid[k]).mean() < 8  # and JPEG kept the picture


def test_only_the_touched_tiles_are_decoded_once(tmp_path, pyramid):
    with open_slide(write_tiff(tmp_path / "s.tif", pyramid), cache=TileCache()) as slide:
        assert slide.tiles_of(0, (60, 100, 130, 140)) == [(0, 1), (0, 2), (1, 1), (1, 2), (2, 1), (2, 2)]
        slide.read_region(0, (60, 100, 130, 140))
        assert slide.tile_reads == 6 and slide.cache.misses == 6
        slide.read_region(0, (64, 128, 128, 140))  # inside tiles already read
        assert slide.tile_reads == 6 and slide.cache.hits == 1
        slide.read_region(1, (0, 0, 10, 10))
        assert slide.tile_reads == 7


def test_the_cache_keeps_to_its_budget_and_is_shared(tmp_path, pyramid):
    tile_bytes = 64 * 64 * 3
    cache = TileCache(budget_bytes=4 * tile_bytes)
    a = open_slide(write_tiff(tmp_path / "a.tif", pyramid), cache=cache)
    b = open_slide(write_tiff(tmp_path / "b.tif", halvings(photo(300, 450, seed=1), 3)), cache=cache)
    a.read_region(0, (0, 0, 300, 450))
    b.read_region(0, (0, 0, 300, 450))
    assert cache.nbytes <= 4 * tile_bytes and len(cache) >= 4  # edge tiles are smaller
    before = b.tile_reads
    b.read_region(0, (256, 384, 300, 450))  # the last tiles read are the ones kept
    assert b.tile_reads == before
    assert a.tile_reads == 5 * 8
    a.read_region(0, (0, 0, 10, 10))  # a's first tile went long ago
    assert a.tile_reads == 5 * 8 + 1
    b.close()
    assert all(key[0] is not b._token for key in cache._tiles)
    a.close()


def test_16_bit_slides_are_stretched_by_one_range_from_the_coarsest_level(tmp_path):
    rng = np.random.default_rng(3)
    grey = rng.integers(1000, 5000, (200, 260), dtype=np.uint16)
    grey[1, 1], grey[3, 5] = 0, 65535  # only in level 0: a whole-image stretch would dim everything
    levels = halvings(grey, 2)
    with open_slide(write_tiff(tmp_path / "g.tif", levels), cache=TileCache()) as slide:
        lo, hi = float(levels[1].min()), float(levels[1].max())
        assert slide.stretched
        np.testing.assert_array_equal(slide.read_region(0, (10, 20, 150, 200)),
                                      stretch_to_rgb(grey[10:150, 20:200], lo, hi))


def test_ome_zarr_levels_and_regions(tmp_path, pyramid):
    path = write_ome_zarr(tmp_path / "s.ome.zarr", pyramid)
    with open_slide(path, cache=TileCache()) as slide:
        assert [lv.shape for lv in slide.levels] == [(300, 450), (150, 225), (75, 113)]
        for k, truth in enumerate(pyramid):
            np.testing.assert_array_equal(slide.read_region(k, (5, 7, 70, 100)), truth[5:70, 7:100])
        assert slide.tile_reads == 3 * 4  # 2 x 2 chunks at each level


def test_odd_files_give_one_line_errors_naming_them(tmp_path, pyramid):
    cases = {}
    cases["not a TIFF"] = tmp_path / "text.tif"
    cases["not a TIFF"].write_text("hello")
    cases["empty"] = tmp_path / "empty.svs"
    cases["empty"].write_bytes(b"II*\x00" + b"\x00" * 12)
    cases["no metadata"] = tmp_path / "plain.zarr"
    import zarr
    zarr.open_group(str(cases["no metadata"]), mode="w")
    cases["missing"] = tmp_path / "gone.tif"
    for what, path in cases.items():
        with pytest.raises(ImageLoadError) as err:
            open_slide(path)
        assert str(path) in str(err.value) and "\n" not in str(err.value), what


def test_a_damaged_tile_is_named_when_read(tmp_path, pyramid):
    path = write_tiff(tmp_path / "j.tif", pyramid, compression="jpeg")
    with tifffile.TiffFile(path) as tf:
        page = tf.pages[0]
        offset, count = page.dataoffsets[5], page.databytecounts[5]
    data = bytearray(path.read_bytes())
    data[offset:offset + count] = b"\x00" * count
    path.write_bytes(bytes(data))
    with open_slide(path, cache=TileCache()) as slide:
        slide.read_region(0, (0, 0, 64, 64))  # tile 0 is whole
        with pytest.raises(ImageLoadError, match=r"tile \(0, 5\) of level 0"):
            slide.read_region(0, (0, 0, 64, 400))


def test_a_16_bit_slide_without_smaller_levels_takes_its_range_from_spread_tiles(tmp_path, monkeypatch):
    import fcn_studio.core.slide.source as source

    monkeypatch.setattr(source, "RANGE_PIXELS", 1000)  # as if 256 x 256 were too large to read whole
    monkeypatch.setattr(source, "RANGE_TILES", 4)
    grey = np.full((256, 256), 2000, np.uint16)
    grey[0, 0], grey[130, 140] = 1000, 3000  # in tiles (0, 0) and (2, 2): sampled
    grey[70, 70], grey[100, 80] = 0, 65535  # in tile (1, 1): not sampled
    with open_slide(write_tiff(tmp_path / "g.tif", [grey]), cache=TileCache()) as slide:
        assert len(slide.levels) == 1 and slide._range == (1000.0, 3000.0)
        assert (slide.read_region(0, (0, 0, 1, 1)) == 0).all()
        assert (slide.read_region(0, (130, 140, 131, 141)) == 255).all()
