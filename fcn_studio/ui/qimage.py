"""numpy buffers seen as QImages without copying. The holder keeps the array alive as long as the
image, and the formats are the ones the raster painter draws without converting."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PySide6.QtGui import QImage


@dataclass
class ImageBuffer:
    array: np.ndarray
    image: QImage

    @property
    def width(self) -> int:
        return self.image.width()

    @property
    def height(self) -> int:
        return self.image.height()


def rgb_buffer(rgb: np.ndarray) -> ImageBuffer:
    """RGB uint8 -> Format_RGB32 (0xffRRGGBB). Call it off the GUI thread: it converts once, so
    painting never converts."""
    bgra = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGRA)
    h, w = rgb.shape[:2]
    return ImageBuffer(bgra, QImage(bgra.data, w, h, w * 4, QImage.Format.Format_RGB32))


def argb_buffer(argb: np.ndarray) -> ImageBuffer:
    """H x W uint32 premultiplied ARGB (see core.overlay) -> Format_ARGB32_Premultiplied."""
    h, w = argb.shape
    return ImageBuffer(argb, QImage(argb.data, w, h, w * 4, QImage.Format.Format_ARGB32_Premultiplied))
