"""numpy buffers seen as QImages without copying. The holder keeps the array alive as long as the
image, and the formats are the ones the raster painter draws without converting."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage


def argb_image(argb: np.ndarray) -> QImage:
    """A view (no copy) of an H x W uint32 premultiplied ARGB array; keep the array alive meanwhile."""
    h, w = argb.shape
    return QImage(argb.data, w, h, argb.strides[0], QImage.Format.Format_ARGB32_Premultiplied)
