"""A slide layer's stand-in (its coarsest level, read whole when it opens) follows a change by reading
again only the part under it."""

import numpy as np

from fcn_studio.ui.canvas.slide_item import SlideTiles


def test_a_change_reads_again_only_the_part_of_the_coarsest_level_under_it():
    levels = [np.zeros((1024, 1024), np.uint32), np.zeros((512, 512), np.uint32)]
    reads = []

    def load(level, rect):
        reads.append((level, rect))
        y0, x0, y1, x1 = rect
        return levels[level][y0:y1, x0:x1].copy()

    tiles = SlideTiles((1024, 1024), [1.0, 2.0], [(1024, 1024), (512, 512)], 256, load, lambda fn: fn())
    assert reads == [(1, (0, 0, 512, 512))]
    levels[1][50:60, 100:110] = 7  # a stroke, as the coarse level samples it
    tiles.changed((100, 200, 120, 220))
    assert reads[-1] == (1, (50, 100, 60, 110))  # not the whole level again
    assert (tiles.backdrop[50:60, 100:110] == 7).all() and tiles.backdrop.sum() == 7 * 100
    tiles.changed(None)  # new colours: everything
    assert reads[-1] == (1, (0, 0, 512, 512))
    tiles.close()
