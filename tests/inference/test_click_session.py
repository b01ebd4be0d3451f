"""A click session on images of any size: the model sees a zoomed crop (the first click a window of a
large image around it, later clicks the box around the selection and the clicks), and outside that crop
the previous selection is kept exactly."""

import numpy as np
import pytest
import torch

from fcn_studio.core.clicks import FIRST_WINDOW, Click, zoom_box
from fcn_studio.inference.click_session import ClickSession
from fcn_studio.model.click_net import ClickNet


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    n = ClickNet()
    torch.nn.init.normal_(n.head4[-1].weight, std=1.0)  # answers of both signs
    return n.eval()


def test_a_large_image_is_answered_in_a_window_around_the_click_and_kept_outside(net):
    image = np.random.default_rng(0).integers(0, 255, (3000, 4000, 3), np.uint8)
    session = ClickSession(net, image)
    first = session.answer([Click(1500, 2000, True)])
    ys, xs = np.nonzero(first)
    assert first.shape == (3000, 4000) and len(ys)
    assert ys.max() - ys.min() < FIRST_WINDOW and xs.max() - xs.min() < FIRST_WINDOW  # only the window
    previous = np.zeros((3000, 4000), bool)
    previous[1400:1600, 1900:2100] = True
    clicks = [Click(1500, 2000, True), Click(1450, 2050, False)]
    y0, x0, y1, x1 = zoom_box(clicks, previous, (3000, 4000))
    assert (y1 - y0, x1 - x0) == (280, 280)  # the selection's box grown by 40%
    second = session.answer(clicks, previous)
    outside = np.ones((3000, 4000), bool)
    outside[y0:y1, x0:x1] = False
    assert not second[outside].any() and second[y0:y1, x0:x1].any()


def test_a_small_image_is_seen_whole_and_no_clicks_select_nothing(net):
    image = np.random.default_rng(1).integers(0, 255, (60, 90, 3), np.uint8)
    session = ClickSession(net, image)
    assert not session.answer([]).any()
    assert session.answer([Click(30, 45, True)]).shape == (60, 90)


class _Brightness(ClickNet):
    """A click model that answers 'bright' wherever the image is: the session's own work is tested."""

    def forward(self, image, maps):
        return image[:, :1] - 0.5


def test_bright_look_alikes_away_from_the_clicks_are_not_part_of_the_answer():
    image = np.zeros((100, 100, 3), np.uint8)
    image[10:30, 10:30] = 255
    image[60:90, 60:90] = 255
    session = ClickSession(_Brightness().eval(), image)
    answer = session.answer([Click(20, 20, True)])
    assert answer[12:28, 12:28].all() and not answer[50:, 50:].any()


class _LeftHeavy(ClickNet):
    """A click model that sees 'object' more on the crop's left: an answer that depends on which way up
    the image is."""

    def forward(self, image, maps):
        ramp = torch.linspace(1.0, -1.0, image.shape[-1])
        return image[:, :1] - 0.5 + ramp


def test_an_answer_does_not_depend_on_which_way_the_image_is_turned():
    image = np.zeros((64, 64, 3), np.uint8)
    image[20:44, 8:40] = 200
    plain = ClickSession(_LeftHeavy().eval(), image).answer([Click(32, 24, True)])
    mirrored = ClickSession(_LeftHeavy().eval(), image[:, ::-1].copy()).answer([Click(32, 64 - 1 - 24, True)])
    assert plain.any() and np.array_equal(mirrored[:, ::-1], plain)
