"""Generated, license-clean sample images with exact masks: textured shapes over textured
backgrounds. They seed the Help menu's sample project and the tests, and are hard enough that a
model has to learn texture and shape, not one colour per class."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from fcn_studio.core.labels import LabelSet
from fcn_studio.core.mask_io import write_mask

SAMPLE_LABELS = LabelSet(("background", "disc", "box", "triangle"),
                         ((0, 0, 0), (230, 25, 75), (60, 180, 75), (0, 130, 200)))


def texture(rng: np.random.Generator, h: int, w: int, base: np.ndarray) -> np.ndarray:
    noise = rng.normal(0, 1, (h // 8 + 2, w // 8 + 2, 3)).astype(np.float32)
    noise = cv2.resize(noise, (w, h), interpolation=cv2.INTER_CUBIC)
    stripes = np.sin(np.arange(w, dtype=np.float32)[None, :] / rng.uniform(3, 12) + rng.uniform(0, 6))
    img = base[None, None, :] + 28 * noise + 18 * stripes[..., None]
    return np.clip(img, 0, 255)


def sample_image(seed: int, h: int = 240, w: int = 320) -> tuple[np.ndarray, np.ndarray]:
    """(RGB uint8 image, uint8 mask with SAMPLE_LABELS indices)."""
    rng = np.random.default_rng(seed)
    img = texture(rng, h, w, rng.uniform(60, 190, 3))
    mask = np.zeros((h, w), np.uint8)
    for _ in range(rng.integers(2, 6)):
        cls = int(rng.integers(1, 4))
        shape = np.zeros((h, w), np.uint8)
        cx, cy = int(rng.integers(0, w)), int(rng.integers(0, h))
        r = int(rng.integers(min(h, w) // 10, min(h, w) // 4))
        if cls == 1:
            cv2.circle(shape, (cx, cy), r, 1, -1)
        elif cls == 2:
            angle = rng.uniform(0, 90)
            box = cv2.boxPoints(((cx, cy), (2 * r, 1.4 * r), angle)).astype(np.int32)
            cv2.fillPoly(shape, [box], 1)
        else:
            pts = np.array([[cx, cy - r], [cx - r, cy + r], [cx + r, cy + r]], np.int32)
            cv2.fillPoly(shape, [pts], 1)
        inside = shape.astype(bool)
        img[inside] = texture(rng, h, w, rng.uniform(40, 220, 3))[inside]
        mask[inside] = cls
    img = cv2.GaussianBlur(img.astype(np.float32), (3, 3), 0)
    return np.clip(img + 0.5, 0, 255).astype(np.uint8), mask


def write_sample_images(folder: str | Path, count: int = 12, with_masks_in: str | Path | None = None,
                        size: tuple[int, int] = (240, 320)) -> list[Path]:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        img, mask = sample_image(i, *size)
        path = folder / f"sample_{i:03d}.png"
        Image.fromarray(img).save(path)
        paths.append(path)
        if with_masks_in is not None:
            write_mask(Path(with_masks_in) / f"sample_{i:03d}.png", mask, SAMPLE_LABELS)
    return paths


def write_sample_voc(folder: str | Path, count: int = 40, size: tuple[int, int] = (240, 320),
                     seed_offset: int = 0) -> Path:
    """The generated samples as a Pascal VOC folder (JPEGImages/, SegmentationClass/, a CVAT-style
    labelmap.txt), for headless training and its tests."""
    folder = Path(folder)
    (folder / "JPEGImages").mkdir(parents=True, exist_ok=True)
    for i in range(count):
        img, mask = sample_image(seed_offset + i, *size)
        Image.fromarray(img).save(folder / "JPEGImages" / f"{i:05d}.jpg", quality=95)
        write_mask(folder / "SegmentationClass" / f"{i:05d}.png", mask, SAMPLE_LABELS)
    lines = ["# label:color_rgb:parts:actions"]
    lines += [f"{n}:{r},{g},{b}::" for n, (r, g, b) in zip(SAMPLE_LABELS.names, SAMPLE_LABELS.colors, strict=True)]
    (folder / "labelmap.txt").write_text("\n".join(lines) + "\n")
    return folder
