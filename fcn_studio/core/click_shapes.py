"""Generated images for the click model's first lessons, before a project has any masks: objects of
every size the app meets (large shapes like the sample project's, crowds of small touching blobs like
cells or nuclei, thin bars) over textured or flat, bright or dark, colour or grey backgrounds, each with
its exact footprint. What the model learns from them is the click protocol itself (a positive click
means "this thing", a negative one "not that") and edges of any contrast; the project's own masks then
teach it what the objects are."""

from __future__ import annotations

import cv2
import numpy as np

from fcn_studio.core.sample_data import texture


def _blob(rng: np.random.Generator, shape: np.ndarray, cx: int, cy: int, r: float) -> None:
    """A wobbly ellipse (a cell, a nucleus, a stone)."""
    angles = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    aspect = rng.uniform(0.6, 1.0)
    wobble = 1 + 0.15 * np.sin(angles * rng.integers(2, 5) + rng.uniform(0, 6))
    theta = rng.uniform(0, np.pi)
    x = r * wobble * np.cos(angles)
    y = r * aspect * wobble * np.sin(angles)
    pts = np.stack([cx + x * np.cos(theta) - y * np.sin(theta), cy + x * np.sin(theta) + y * np.cos(theta)], 1)
    cv2.fillPoly(shape, [np.round(pts).astype(np.int32)], 1)


def _large(rng: np.random.Generator, shape: np.ndarray, h: int, w: int) -> None:
    cx, cy = int(rng.integers(0, w)), int(rng.integers(0, h))
    r = int(rng.integers(min(h, w) // 10, min(h, w) // 3))
    kind = rng.integers(0, 4)
    if kind == 0:
        cv2.circle(shape, (cx, cy), r, 1, -1)
    elif kind == 1:
        box = cv2.boxPoints(((cx, cy), (2 * r, rng.uniform(0.3, 1.4) * r), rng.uniform(0, 180))).astype(np.int32)
        cv2.fillPoly(shape, [box], 1)
    elif kind == 2:
        pts = (np.array([cx, cy]) + rng.uniform(-r, r, (int(rng.integers(3, 7)), 2))).astype(np.int32)
        cv2.fillPoly(shape, [cv2.convexHull(pts)], 1)
    else:
        _blob(rng, shape, cx, cy, r)


def click_shape_image(seed: int, h: int = 192, w: int = 192) -> tuple[np.ndarray, np.ndarray]:
    """(RGB uint8 image, uint16 map of object ids, 0 = background): every object its own id, so
    touching objects stay apart, as instances in a person's mask do not (but as clicks must)."""
    rng = np.random.default_rng(seed)
    grey = rng.random() < 0.4
    img = texture(rng, h, w, rng.uniform(0, 200, 3)) * rng.uniform(0.2, 1.0)
    ids = np.zeros((h, w), np.uint16)
    crowd = rng.random() < 0.5
    count = int(rng.integers(6, 20)) if crowd else int(rng.integers(1, 5))
    for i in range(1, count + 1):
        shape = np.zeros((h, w), np.uint8)
        if crowd:
            _blob(rng, shape, int(rng.integers(0, w)), int(rng.integers(0, h)), rng.uniform(4, 16))
        else:
            _large(rng, shape, h, w)
        inside = shape.astype(bool)
        if not inside.any():
            continue
        contrast = rng.uniform(25, 160) * rng.choice([-1, 1])
        tex = texture(rng, h, w, np.clip(img[inside].mean(0) + contrast, 0, 255))
        img[inside] = tex[inside]
        ids[inside] = i
    img = cv2.GaussianBlur(img.astype(np.float32), (0, 0), rng.uniform(0.5, 1.5))
    img += rng.normal(0, rng.uniform(1, 12), img.shape).astype(np.float32)
    if grey:
        img = np.repeat(img.mean(2, keepdims=True), 3, 2)
    return np.clip(img + 0.5, 0, 255).astype(np.uint8), ids
