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
    inside_part,
    window,
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
    assert (y1 - y0, x1 - x0) == (MIN_ZOOM, MIN_ZOOM)  # never less than MIN_ZOOM across
    assert (y0 + y1) / 2 == (x0 + x1) / 2 == 12  # centred on the object, past the image's edge


def test_a_zoom_box_past_the_edge_sees_the_image_mirrored_there_and_pastes_back_only_the_image():
    image = np.arange(6 * 8).reshape(6, 8)
    box = (-2, 5, 4, 11)  # two rows above the image, three columns right of it
    seen = window(image, box)
    assert seen.shape == (6, 6)
    assert seen[2:, :3].tolist() == image[0:4, 5:8].tolist()  # the image where it is
    assert seen[0, 2] == image[2, 7] and seen[1, 2] == image[1, 7]  # rows mirrored about the edge
    assert seen[2, 3] == image[0, 6] and seen[2, 5] == image[0, 4]  # columns too
    assert np.array_equal(window(image, (1, 1, 4, 4)), image[1:4, 1:4])  # inside: a plain slice
    in_image, in_box = inside_part(box, image.shape)
    assert np.array_equal(seen[in_box], image[in_image]) and image[in_image].shape == (4, 3)


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
