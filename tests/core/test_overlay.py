import numpy as np

from fcn_studio.core.labels import LabelSet
from fcn_studio.core.overlay import argb_lut, blend_overlay, render_confidence, render_outline, render_overlay

LABELS = LabelSet(("bg", "a", "b"), ((0, 0, 0), (255, 0, 0), (0, 0, 255)))


def test_lut_is_premultiplied_argb_and_hides_what_is_hidden():
    lut = argb_lut(LABELS, [True, False, True])
    assert lut[2] == 0xFF0000FF and lut[1] == 0 and lut[255] == 0


def test_chunked_render_equals_a_plain_gather(rng):
    mask = rng.integers(0, 3, (1500, 1100)).astype(np.uint8)  # over a megapixel: the threaded path
    mask[::7] = 255
    lut = argb_lut(LABELS)
    out = np.full(mask.shape, 7, np.uint32)
    render_overlay(mask, lut, out)
    assert np.array_equal(out, lut[mask])
    small = mask[:10, :10]
    assert np.array_equal(render_overlay(small, lut), lut[small])


def test_outline_colours_only_pixels_next_to_another_class():
    mask = np.zeros((20, 20), np.uint8)
    mask[5:15, 5:15] = 1
    out = render_outline(mask, argb_lut(LABELS))
    assert out[10, 10] == 0 and out[10, 5] == argb_lut(LABELS)[1] and out[0, 0] == 0


def test_confidence_view_is_clear_where_the_model_is_sure():
    conf = np.array([[1.0, 0.75, 0.3]], np.float32)
    out = render_confidence(conf)
    alpha = out >> 24
    assert alpha[0, 0] == 0 and 0 < alpha[0, 1] < alpha[0, 2]


def test_blend_keeps_ignored_pixels_untouched():
    image = np.full((2, 2, 3), 100, np.uint8)
    mask = np.array([[1, 255], [0, 2]], np.uint8)
    out = blend_overlay(image, mask, LABELS, 0.5)
    assert tuple(out[0, 1]) == (100, 100, 100) and tuple(out[0, 0]) == (178, 50, 50)
