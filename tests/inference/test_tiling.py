import numpy as np
import pytest

from fcn_studio.inference.tiling import ALIGN, plan_tiles


@pytest.mark.parametrize("h,w,tile,overlap", [(100, 100, 512, 128), (1000, 700, 256, 64), (4000, 3001, 1536, 384),
                                              (513, 65, 64, 32)])
def test_tiles_cover_every_pixel_exactly_once_and_start_on_the_stride(h, w, tile, overlap):
    cover = np.zeros((h, w), np.int32)
    for t in plan_tiles(h, w, tile, overlap):
        assert t.y0 % ALIGN == 0 and t.x0 % ALIGN == 0
        assert t.y1 - t.y0 <= tile and t.x1 - t.x0 <= tile
        assert t.y0 <= t.oy0 < t.oy1 <= t.y1 and t.x0 <= t.ox0 < t.ox1 <= t.x1
        cover[t.oy0 : t.oy1, t.ox0 : t.ox1] += 1
    assert (cover == 1).all()


def test_every_pixel_keeps_context_from_its_tile():
    for t in plan_tiles(3000, 3000, 1024, 384):
        for lo, hi, olo, ohi, n in ((t.y0, t.y1, t.oy0, t.oy1, 3000), (t.x0, t.x1, t.ox0, t.ox1, 3000)):
            assert olo == 0 or olo - lo >= 384 // 2 - ALIGN
            assert ohi == n or hi - ohi >= 384 // 2 - ALIGN


def test_bad_tile_settings_are_refused():
    with pytest.raises(ValueError):
        plan_tiles(100, 100, 64, 64)
