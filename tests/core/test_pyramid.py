"""Display levels: what the canvas draws at each zoom is a true downscale of the image and of the mask,
kept in step with edits region by region, and only the tiles in view are asked for."""

import cv2
import numpy as np

from fcn_studio.core.pyramid import (
    TILE,
    ImageLevels,
    MapLevels,
    TileCache,
    level_count,
    level_for_zoom,
    level_shape,
    visible_tiles,
)


def test_image_levels_are_halvings_of_the_image_and_level_0_is_not_a_copy():
    rgb = np.random.default_rng(0).integers(0, 256, (1500, 2300, 3), dtype=np.uint8)
    levels = ImageLevels(rgb)
    assert levels.levels[0] is rgb
    assert len(levels.levels) == level_count(1500, 2300) == 4  # 2300 -> 1150 -> 575 -> 288
    for k, level in enumerate(levels.levels):
        assert level.shape[:2] == level_shape(1500, 2300, k)
    expected = cv2.resize(rgb, (1150, 750), interpolation=cv2.INTER_AREA)  # a plain area downscale
    assert np.array_equal(levels.levels[1], expected)
    # each level looks like the image at that scale (the mean colour of a block survives)
    block = rgb[400:800, 800:1200].reshape(-1, 3).mean(0)
    assert np.abs(levels.levels[2][100:200, 200:300].reshape(-1, 3).mean(0) - block).max() < 1.0


def test_map_levels_sample_the_mask_and_an_edit_updates_only_its_region_of_each_level():
    mask = np.full((1000, 1300), 255, np.uint8)
    levels = MapLevels(mask, eager=True)
    for k in range(levels.count):
        assert np.array_equal(levels.level(k), mask[:: 1 << k, :: 1 << k])
    mask[100:300, 200:420] = 3  # the stroke
    mask[900:, 1200:] = 7  # a change elsewhere that nobody reported
    levels.update((100, 200, 300, 420))
    for k in range(1, levels.count):
        s = 1 << k
        level = levels.level(k)
        assert (level[-(-100 // s) : 300 // s, -(-200 // s) : 420 // s] == 3).all()
        assert level[-1, -1] == 255  # outside the reported rectangle nothing was resampled
        ys, xs = np.nonzero(level == 3)
        assert ys.min() * s >= 100 and ys.max() * s < 300 and xs.min() * s >= 200 and xs.max() * s < 420


def test_lazy_levels_are_built_when_first_asked_for():
    mask = np.zeros((3000, 2000), np.uint8)
    levels = MapLevels(mask)
    assert levels.built() == [0]
    mask[10:20, 10:20] = 1
    levels.update((10, 10, 20, 20))  # levels not built yet cost nothing
    assert levels.built() == [0]
    assert levels.level(2)[3, 3] == 1 and levels.built() == [0, 2]


def test_the_level_for_a_zoom_is_the_coarsest_still_as_sharp_as_the_screen():
    assert [level_for_zoom(z, 6) for z in (4.0, 1.0, 0.99, 0.5, 0.3, 0.25, 0.2, 0.01)] == [0, 0, 0, 1, 1, 2, 2, 5]
    assert level_for_zoom(0.01, 3) == 2


def test_visible_tiles_are_those_the_view_rectangle_touches_at_that_level():
    shape = (9000, 12000)
    # at level 0 a 600 x 400 view at (1000, 500) touches tile columns 3..6 and rows 1..3
    assert visible_tiles((1000, 500, 600, 400), 0, shape) == [(ty, tx) for ty in (1, 2, 3) for tx in (3, 4, 5, 6)]
    # the whole image at level 5 (375 x 282 pixels) is two tiles by two
    assert visible_tiles((0, 0, 12000, 9000), 5, shape) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    # a view partly outside the image asks for no tile beyond it
    tiles = visible_tiles((11900, 8900, 1000, 1000), 0, shape)
    assert tiles == [(34, 46), (35, 46)] and 35 * TILE < 9000 <= 36 * TILE and 46 * TILE < 12000 <= 47 * TILE


def test_the_tile_cache_keeps_recent_tiles_and_forgets_those_an_edit_touched():
    made = []

    def render(level, ty, tx):
        made.append((level, ty, tx))
        return np.zeros((TILE, TILE), np.uint32)

    cache = TileCache(render, limit_bytes=3 * TILE * TILE * 4)
    for key in [(0, 0, 0), (0, 0, 1), (1, 0, 0), (0, 0, 0)]:
        cache.get(*key)
    assert made == [(0, 0, 0), (0, 0, 1), (1, 0, 0)]  # the repeat came from the cache
    cache.get(2, 0, 0)  # over the limit: the least recently used one (0, 0, 1) goes
    assert (0, 0, 1) not in cache and (0, 0, 0) in cache
    gone = cache.drop_rect((10, 10, 20, 20))  # a dot in the first tile of every level
    assert sorted(gone) == [(0, 0, 0), (1, 0, 0), (2, 0, 0)]
