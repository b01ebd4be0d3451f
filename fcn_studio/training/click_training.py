"""Training the click model the way RITM does (Sofiiuk et al. 2022): each object of each labelled image
(core.clicks.objects) is a sample; the first click falls somewhere inside it, then the model itself is
run a few times without gradients and each time the next click is put where it errs (the same protocol
the benchmark simulates), and the loss is taken on the answer to the last clicks with the previous
selection as input. So it learns to correct its own mistakes, from one click and from many."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

from fcn_studio.core.clicks import (
    MIN_ZOOM,
    ZOOM_SIDE,
    Click,
    click_maps,
    next_click,
    objects,
    square_box,
    to_crop,
    window,
    zoom_box,
    zoomed_inputs,
)
from fcn_studio.model.click_net import ClickNet
from fcn_studio.model.input_spec import IMAGENET, normalise_batch

LEARN_LR = 3e-4  # learning from a project's masks: a trained decoder is adjusted, not started again
MAX_ITERATIONS = 3  # clicks simulated from the model's own errors before the one trained on


@dataclass
class ObjectSample:
    image: np.ndarray  # H x W x 3 uint8
    truth: np.ndarray  # H x W bool: the object
    ignore: np.ndarray | None = None  # H x W bool: unlabelled pixels (no loss there)


def samples_from(images: Sequence[np.ndarray], masks: Sequence[np.ndarray], ignore_index: int = 255,
                 min_pixels: int = 16) -> list[ObjectSample]:
    """Every object of every image (each class's connected regions but the background)."""
    found = []
    for image, mask in zip(images, masks, strict=True):
        ignore = mask == ignore_index
        for _cls, truth in objects(mask, ignore_index, min_pixels):
            found.append(ObjectSample(image, truth, ignore if ignore.any() else None))
    return found


def _zoomed(sample: ObjectSample, rng: random.Random) -> tuple[ObjectSample, Click]:
    """What a training step sees of one object, as the app would show it to the model: the window
    around a first click (nothing selected yet) or a zoom-in box around the object grown by 1.1-2x and
    mirrored past the image's edges as the app's are (core.clicks.window), scaled to ZOOM_SIDE and padded
    square (padding is ignored); with the first click in its pixels."""
    h, w = sample.truth.shape
    first = _first_click(sample.truth, rng)
    if rng.random() < 0.4:
        box = zoom_box([first], None, (h, w))
    else:
        rows, cols = np.flatnonzero(sample.truth.any(1)), np.flatnonzero(sample.truth.any(0))
        side = max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1
        jitter = 0.15 * side
        box = square_box((rows[0] + rows[-1]) / 2 + rng.uniform(-jitter, jitter),
                         (cols[0] + cols[-1]) / 2 + rng.uniform(-jitter, jitter),
                         max(MIN_ZOOM, side * rng.uniform(1.1, 2.0)), (h, w), inside=False)
    crop, _maps, scale = zoomed_inputs(sample.image, [], None, box)
    size = (crop.shape[1], crop.shape[0])

    def fit(a: np.ndarray) -> np.ndarray:
        part = cv2.resize(window(a, box).astype(np.uint8), size, interpolation=cv2.INTER_NEAREST)
        out = np.zeros((ZOOM_SIDE, ZOOM_SIDE), np.uint8)
        out[: part.shape[0], : part.shape[1]] = part
        return out.astype(bool)

    image = np.zeros((ZOOM_SIDE, ZOOM_SIDE, 3), np.uint8)
    image[: crop.shape[0], : crop.shape[1]] = crop
    outside = np.ones((ZOOM_SIDE, ZOOM_SIDE), bool)
    outside[: crop.shape[0], : crop.shape[1]] = False
    ignore = outside | fit(sample.ignore) if sample.ignore is not None else outside
    click = to_crop([first], box, scale)[0]
    truth = fit(sample.truth)
    if not truth[min(click.y, ZOOM_SIDE - 1), min(click.x, ZOOM_SIDE - 1)]:  # a thin part lost in the scaling
        ys, xs = np.nonzero(truth) if truth.any() else ([click.y], [click.x])
        i = rng.randrange(len(ys))
        click = Click(int(ys[i]), int(xs[i]), True)
    return _augmented(ObjectSample(image, truth, ignore), click, rng)


def _augmented(sample: ObjectSample, click: Click, rng: random.Random) -> tuple[ObjectSample, Click]:
    """The crop turned or mirrored (one of the 8 symmetries of a square) and its brightness and contrast
    varied: a project's few dozen objects then teach shapes and exposures its next images will have,
    instead of being learned by heart (cells, nuclei and aerial objects have no up)."""
    k, flip = rng.randrange(4), rng.random() < 0.5

    def turn(a: np.ndarray) -> np.ndarray:
        a = np.rot90(a, k)
        return np.ascontiguousarray(a[:, ::-1] if flip else a)

    where = np.zeros(sample.truth.shape, bool)
    where[min(click.y, where.shape[0] - 1), min(click.x, where.shape[1] - 1)] = True
    y, x = np.argwhere(turn(where))[0]
    image = turn(sample.image)
    if rng.random() < 0.5:
        gain, offset = rng.uniform(0.7, 1.3), rng.uniform(-25, 25)
        image = np.clip(image.astype(np.float32) * gain + offset, 0, 255).astype(np.uint8)
    ignore = turn(sample.ignore) if sample.ignore is not None else None
    return ObjectSample(image, turn(sample.truth), ignore), Click(int(y), int(x), True)


def _first_click(truth: np.ndarray, rng: random.Random) -> Click:
    """A positive click somewhere well inside the object (not always its centre: people vary)."""
    dist = cv2.distanceTransform(np.pad(truth.astype(np.uint8), 1), cv2.DIST_L2, 5)[1:-1, 1:-1]
    inner = np.argwhere(dist >= max(1.0, 0.5 * dist.max()))
    y, x = inner[rng.randrange(len(inner))]
    return Click(int(y), int(x), True)


def _first_negatives(sample: ObjectSample, rng: random.Random) -> list[Click]:
    """Negative clicks a person makes before the model has erred (RITM's multi-point sampler): half the
    time none, else 1-3 just outside the object (where a neighbour touches it) or anywhere in the
    background. Without them the model sees a negative click only where it already spills over, rarely
    on a project's own images once it has learned them, and learns to ignore them."""
    if rng.random() < 0.5:
        return []
    valid = ~sample.ignore if sample.ignore is not None else np.ones(sample.truth.shape, bool)
    outside = ~sample.truth & valid
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * rng.randint(3, 12) + 1,) * 2)
    ring = cv2.dilate(sample.truth.astype(np.uint8), kernel).astype(bool) & outside
    found = []
    for _ in range(rng.randint(1, 3)):
        where = np.argwhere(ring if ring.any() and rng.random() < 0.7 else outside)
        if len(where):
            y, x = where[rng.randrange(len(where))]
            found.append(Click(int(y), int(x), False))
    return found


def _maps(clicks: list[list[Click]], previous: torch.Tensor) -> torch.Tensor:
    maps = np.stack([click_maps(c, previous.shape[-2:]) for c in clicks])
    return torch.cat([torch.from_numpy(maps), previous], 1)


def train_step(net: ClickNet, optimizer: torch.optim.Optimizer, batch: Sequence[tuple[ObjectSample, Click]],
               rng: random.Random, device: torch.device) -> float:
    """One RITM step on `batch` (zoomed crops and their first clicks): returns the loss."""
    firsts = [c for _s, c in batch]
    batch = [s for s, _c in batch]
    images = torch.from_numpy(np.stack([s.image for s in batch]))
    truth = torch.from_numpy(np.stack([s.truth for s in batch])).float().unsqueeze(1)
    valid = torch.from_numpy(np.stack([~s.ignore if s.ignore is not None else np.ones(s.truth.shape, bool)
                                       for s in batch])).float().unsqueeze(1)
    x = normalise_batch(images, IMAGENET, device)
    clicks = [[c, *_first_negatives(s, rng)] for s, c in zip(batch, firsts, strict=True)]
    previous = torch.zeros(len(batch), 1, ZOOM_SIDE, ZOOM_SIDE)
    net.eval()
    with torch.no_grad():
        features = net.features(x)  # the encoder is frozen: one pass serves every click below
        for _ in range(rng.randint(0, MAX_ITERATIONS)):
            selection = net.decode(features, _maps(clicks, previous).to(device)).cpu() > 0
            for i, s in enumerate(batch):
                click = next_click(s.truth, selection[i, 0].numpy(), s.ignore)
                if click is not None:
                    clicks[i].append(click)
            previous = selection.float()
    net.train()
    net.encoder.eval()  # frozen, batch statistics included
    logits = net.decode(features, _maps(clicks, previous).to(device)).cpu()
    loss = _loss(logits, truth, valid)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return float(loss.detach())


def _loss(logits: torch.Tensor, truth: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy plus a soft IoU term, both over labelled pixels: the IoU term keeps a small
    object from being outweighed by the background around it."""
    bce = (F.binary_cross_entropy_with_logits(logits, truth, reduction="none") * valid).sum() / valid.sum()
    p = torch.sigmoid(logits) * valid
    inter = (p * truth).sum((1, 2, 3))
    union = (p + truth * valid - p * truth).sum((1, 2, 3)).clamp_min(1.0)
    return bce + (1 - inter / union).mean()


def train(net: ClickNet, samples: Sequence[Sequence[ObjectSample]], steps: int | None = None,
          seconds: float | None = None, batch_size: int = 8, lr: float = 1e-3, seed: int = 0,
          device: str | torch.device = "cpu",
          on_step: Callable[[int, float], None] | None = None) -> int:
    """Trains for `steps` (or until `seconds` have passed); returns the steps done. `samples` are
    grouped by image and each pick takes an image, then one of its objects, so a crowd of small objects
    does not outnumber an image's few large ones. The encoder stays as ImageNet left it: the decoder
    learns (model/click_net.py says why)."""
    if not samples:
        raise ValueError("no objects to learn from (no labelled region of at least 16 pixels)")
    device = torch.device(device)
    net.to(device)
    rng = random.Random(seed)
    net.encoder.requires_grad_(False)
    optimizer = torch.optim.Adam([p for n, p in net.named_parameters() if not n.startswith("encoder.")], lr=lr)
    end = time.monotonic() + seconds if seconds is not None else None
    done = 0
    while (steps is None or done < steps) and (end is None or time.monotonic() < end):
        batch = [_zoomed(rng.choice(rng.choice(samples)), rng) for _ in range(batch_size)]
        loss = train_step(net, optimizer, batch, rng, device)
        done += 1
        if on_step is not None:
            on_step(done, loss)
    net.eval()
    return done


def shape_samples(count: int, seed: int = 0) -> list[list[ObjectSample]]:
    """Objects of `count` generated images (core.click_shapes and the sample project's kind of image,
    with seeds the sample project never uses), grouped by image: the click model's first lessons."""
    from fcn_studio.core.click_shapes import click_shape_image  # noqa: PLC0415
    from fcn_studio.core.sample_data import sample_image  # noqa: PLC0415

    found = []
    for i in range(count):
        image, ids = click_shape_image(seed + i) if i % 3 else sample_image(10_000 + seed + i)
        found.append(samples_from([image], [ids]))
    return [group for group in found if group]
