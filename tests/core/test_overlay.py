import numpy as np

from fcn_studio.core.labels import LabelSet
from fcn_studio.core.overlay import (
    HATCH_DARK,
    HATCH_LIGHT,
    argb_lut,
    blend_overlay,
    render_confidence,
    render_outline,
    render_overlay,
)

LABELS = LabelSet(("bg", "a", "b"), ((0, 0, 0), (255, 0, 0), (0, 0, 255)))


def test_lut_is_premultiplied_argb_and_hides_what_is_hidden():
    lut = argb_lut(LABELS, [True, False, True])
    assert lut[2] == 0xFF0000FF and lut[1] == 0 and lut[255] == 0


def test_chunked_render_equals_a_plain_gather(rng):
    mask = rng.integers(0, 3, (1500, 1100)).astype(np.uint8)  # over a megapixel: the threaded path
    mask[::7] = 255
    lut = argb_lut(LABELS)
    out = np.full(mask.shape, 7, np.uint32)
    render_overlay(mask, lut, out, ignore_index=None)
    assert np.array_equal(out, lut[mask])
    small = mask[:10, :10]
    assert np.array_equal(render_overlay(small, lut, ignore_index=None), lut[small])


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


def test_unlabelled_pixels_are_hatched_and_tiles_line_up(rng):
    """Unlabelled (255) stands apart from a hidden background: light and dark lines on it, nothing on
    the hidden class; a patch drawn at its origin is the same as that part of the whole (threaded) image."""
    mask = rng.integers(0, 3, (1200, 1000)).astype(np.uint8)
    mask[100:700, 200:900] = 255
    lut = argb_lut(LABELS, [False, True, True])  # background hidden, as the app starts
    whole = render_overlay(mask, lut)
    hatch = whole[100:700, 200:900]
    assert (hatch == HATCH_LIGHT).mean() > 0.1 and (hatch == HATCH_DARK).mean() > 0.1
    assert (hatch == 0).mean() > 0.6  # mostly see-through: the image stays readable
    assert (whole[mask == 0] == 0).all() and (whole[mask == 1] == lut[1]).all()
    patch = render_overlay(np.ascontiguousarray(mask[333:444, 555:777]), lut, origin=(333, 555))
    assert np.array_equal(patch, whole[333:444, 555:777])
    assert (render_overlay(mask, lut, ignore_index=None)[mask == 255] == 0).all()
    outline = render_outline(mask, lut)
    assert np.array_equal(outline[150:650, 250:850], whole[150:650, 250:850])  # inside: hatch, as filled
