"""One object's click segmentation on one image: each click runs the click model on a zoomed crop
around the object (core.clicks.zoom_box: RITM's zoom-in, FocalClick's "recompute only around the
click"), so a click costs the same on a 128-pixel tile and on a gigapixel mosaic, and small objects are
seen large. What the Click tool, the click benchmark and the click model's scoring call."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import torch

from fcn_studio.core.clicks import Click, clicked_parts, inside_part, zoom_box, zoomed_inputs
from fcn_studio.model.click_net import ClickNet
from fcn_studio.model.input_spec import IMAGENET, normalise_batch


class ClickSession:
    def __init__(self, net: ClickNet, image: np.ndarray, device: str | torch.device = "cpu") -> None:
        self.net, self.image, self.device = net, image, torch.device(device)

    def answer(self, clicks: Sequence[Click], previous: np.ndarray | None = None) -> np.ndarray:
        """The object the clicks mean, as a boolean image-sized mask; outside the crop the previous
        selection is kept."""
        if not clicks:
            return np.zeros(self.image.shape[:2], bool)
        box = zoom_box(clicks, previous, self.image.shape[:2])
        out = self._pass(clicks, previous, box)
        tighter = zoom_box(clicks, out, self.image.shape[:2])
        if REFINE and _area(tighter) * 2 <= _area(box):
            # the object is small in what the model saw (a first click on a whole image): look again,
            # zoomed in on what it found, as the next click would
            out = self._pass(clicks, out, tighter)
        return out

    def _pass(self, clicks: Sequence[Click], previous: np.ndarray | None, box) -> np.ndarray:
        h, w = self.image.shape[:2]
        out = np.zeros((h, w), bool) if previous is None else previous.copy()
        crop, maps, _scale = zoomed_inputs(self.image, clicks, previous, box)
        with torch.inference_mode():
            x = normalise_batch(torch.from_numpy(np.ascontiguousarray(crop))[None], IMAGENET, self.device)
            m = torch.from_numpy(maps)[None].to(self.device)
            logits = _mirrored_mean(self.net, x, m)[0, 0].float().cpu().numpy()
        y0, x0, y1, x1 = box
        in_image, in_box = inside_part(box, (h, w))
        out[in_image] = cv2.resize(logits, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)[in_box] > 0
        return clicked_parts(out, clicks)


REFINE = True
MIRRORS = ((), (-1,), (-2,), (-2, -1))  # the crop as it is, mirrored left-right, upside down, and both


def _mirrored_mean(net: ClickNet, x: torch.Tensor, maps: torch.Tensor) -> torch.Tensor:
    """The mean of the model's logits over the crop and its mirror images, each mirrored back: edges
    fall where the views agree instead of where one view's stride-4 grid puts them (one batch of four,
    so a click costs one pass of a larger batch)."""
    views = [(x.flip(d), maps.flip(d)) if d else (x, maps) for d in MIRRORS]
    out = net(torch.cat([v for v, _ in views]), torch.cat([m for _, m in views]))
    return torch.stack([o[None].flip(d) if d else o[None] for o, d in zip(out, MIRRORS, strict=True)]).mean(0)


def _area(box) -> int:
    return (box[2] - box[0]) * (box[3] - box[1])
