"""The overlay served as tiles of display levels: put together, the tiles are exactly the overlay of the
whole mask (filled, outlined, confidence), before and after an edit reported by its rectangle."""

import cv2
import numpy as np
import pytest

from fcn_studio.core.overlay import argb_lut, render_confidence, render_outline, render_overlay
from fcn_studio.core.sample_data import SAMPLE_LABELS
from fcn_studio.ui.canvas.overlay_state import OverlayState


def _state(mode):
    rng = np.random.default_rng(1)
    mask = cv2.resize(rng.integers(0, 4, (12, 14)).astype(np.uint8), (700, 600), interpolation=cv2.INTER_NEAREST)
    confidence = rng.random((600, 700)).astype(np.float32)
    state = OverlayState()
    state.set_labels(SAMPLE_LABELS)
    state.mode = mode
    state.set_image_data(mask, confidence)
    return state, mask, confidence


@pytest.mark.parametrize("mode", ["fill", "outline"])
def test_the_tiles_together_are_the_overlay_of_the_whole_mask_also_after_an_edit(mode):
    state, mask, _ = _state(mode)
    render = render_outline if mode == "outline" else render_overlay
    lut = argb_lut(SAMPLE_LABELS)
    assert np.array_equal(state.pixels(), render(mask, lut))
    for level in range(state.count):  # every tile of every level is drawn once, then cached
        state.tile(level, 0, 0)
    mask[250:262, 240:270] = 2  # a stroke across the edge of the first tiles (256)
    state.update_rect((250, 240, 262, 270))
    assert np.array_equal(state.tile(0, 0, 0), render(mask, lut)[:256, :256])
    assert state.tile(1, 0, 0)[125, 120] == lut[2]  # the coarser level shows it too
    assert np.array_equal(state.pixels(), render(mask, lut))


def test_the_confidence_view_is_kept_in_a_quarter_of_the_memory_and_looks_the_same():
    state, _, confidence = _state("confidence")
    assert state.confidence.dtype == np.uint8
    expected = render_confidence(np.round(confidence * 255) / 255)
    got = state.pixels()
    assert np.abs((got >> 24).astype(int) - (expected >> 24).astype(int)).max() <= 1
