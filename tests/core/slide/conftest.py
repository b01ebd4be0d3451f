"""Small pyramidal slides written by tifffile and zarr, as scanners and converters write them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile


def photo(h: int, w: int, seed: int = 0) -> np.ndarray:
    """Smooth colour with noise: JPEG-compressible like a stained slide, and never flat."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([128 + 100 * np.sin(yy / 37.0), 128 + 100 * np.cos(xx / 23.0), (yy + xx) % 256], axis=2)
    return np.clip(base + rng.normal(0, 8, (h, w, 3)), 0, 255).astype(np.uint8)


def halvings(img: np.ndarray, count: int) -> list[np.ndarray]:
    levels = [img]
    for _ in range(count - 1):
        levels.append(np.ascontiguousarray(levels[-1][::2, ::2]))
    return levels


def write_tiff(path: Path, levels: list[np.ndarray], tile=(64, 64), compression=None, subifds=True,
               ome=False) -> Path:
    """Level 0 with its reductions as SubIFDs (or as following reduced pages)."""
    photometric = "rgb" if levels[0].ndim == 3 else "minisblack"
    kw = {"tile": tile, "compression": compression, "photometric": photometric}
    with tifffile.TiffWriter(path, ome=ome) as tw:
        tw.write(levels[0], subifds=len(levels) - 1 if subifds else None, **kw)
        for lv in levels[1:]:
            tw.write(lv, subfiletype=1, **kw)
    return path


def write_ome_zarr(path: Path, levels: list[np.ndarray], chunk: int = 64) -> Path:
    """NGFF 0.4 multiscales, channel first (c, y, x), as ome-zarr-py writes them."""
    import zarr

    group = zarr.open_group(str(path), mode="w", zarr_format=2)
    datasets = []
    for k, lv in enumerate(levels):
        data = np.moveaxis(lv, 2, 0)
        arr = group.create_array(str(k), shape=data.shape, chunks=(3, chunk, chunk), dtype=data.dtype)
        arr[...] = data
        datasets.append({"path": str(k), "coordinateTransformations": [{"type": "scale", "scale": [1, 2**k, 2**k]}]})
    group.attrs["multiscales"] = [{"version": "0.4", "axes": [
        {"name": "c", "type": "channel"}, {"name": "y", "type": "space"}, {"name": "x", "type": "space"}],
        "datasets": datasets}]
    return path


@pytest.fixture
def pyramid():
    return halvings(photo(300, 450), 3)
