"""What the click model sees: the zoom-in box (RITM's), the click disks and the previous selection,
in the crop's pixels."""

import numpy as np

from fcn_studio.core.clicks import (
    CLICK_RADIUS,
    FIRST_WINDOW,
    MIN_ZOOM,
    ZOOM_EXPAND,
    ZOOM_SIDE,
    Click,
    click_maps,
    zoom_box,
    zoomed_inputs,
)


def test_the_first_click_sees_a_window_of_the_image_around_it():
    assert zoom_box([Click(50, 60, True)], None, (128, 128)) == (0, 0, 128, 128)  # a small image: all of it
    y0, x0, y1, x1 = zoom_box([Click(3000, 100, True)], None, (6000, 8000))
    assert (y1 - y0, x1 - x0) == (FIRST_WINDOW, FIRST_WINDOW)
    assert y0 < 3000 < y1 and x0 == 0  # moved inside the image, not cut


def test_later_clicks_see_the_selection_and_clicks_grown_by_the_zoom_factor():
    selection = np.zeros((1000, 1000), bool)
    selection[400:500, 300:360] = True  # 100 tall, 60 wide
    y0, x0, y1, x1 = zoom_box([Click(450, 330, True), Click(520, 330, False)], selection, (1000, 1000))
    side = round((520 - 400 + 1) * ZOOM_EXPAND)  # the negative click below the selection counts
    assert (y1 - y0, x1 - x0) == (side, side)
    assert y0 <= 400 and y1 > 520 and x0 <= 300 and x1 > 359
    tiny = np.zeros((1000, 1000), bool)
    tiny[10:14, 10:14] = True
    y0, x0, y1, x1 = zoom_box([Click(12, 12, True), Click(13, 12, True)], tiny, (1000, 1000))
    assert (y0, x0, y1 - y0) == (0, 0, MIN_ZOOM)  # never less than MIN_ZOOM across, kept inside


def test_click_maps_are_disks_positive_then_negative():
    maps = click_maps([Click(10, 20, True), Click(30, 5, False)], (40, 40))
    assert maps.shape == (2, 40, 40) and maps.dtype == np.float32
    assert maps[0, 10, 20] == 1 and maps[0, 10, 20 + CLICK_RADIUS] == 1 and maps[0, 10, 20 + CLICK_RADIUS + 1] == 0
    assert maps[1, 30, 5] == 1 and maps[0, 30, 5] == 0 and maps[1, 10, 20] == 0


def test_zoomed_inputs_scale_the_crop_its_clicks_and_the_previous_selection_alike():
    image = np.zeros((200, 300, 3), np.uint8)
    image[100:120, 200:220] = 255  # a white square
    previous = np.zeros((200, 300), bool)
    previous[100:120, 200:220] = True
    box = (90, 190, 130, 230)  # 40 x 40 around it: scaled by ZOOM_SIDE / 40
    crop, maps, scale = zoomed_inputs(image, [Click(110, 210, True)], previous, box)
    assert scale == ZOOM_SIDE / 40
    assert crop.shape == (ZOOM_SIDE, ZOOM_SIDE, 3) and maps.shape == (3, ZOOM_SIDE, ZOOM_SIDE)
    centre = round((110 - 90 + 0.5) * scale - 0.5), round((210 - 190 + 0.5) * scale - 0.5)
    assert maps[0][centre] == 1 and maps[1].max() == 0
    white = crop[..., 0] > 127
    # the previous selection lies on the square (bar a pixel of its edge, where the scalings round apart)
    assert np.count_nonzero((maps[2] > 0) != white) < 4 * 20 * scale
    assert abs(int(white.sum()) - (20 * scale) ** 2) < 4 * 20 * scale
