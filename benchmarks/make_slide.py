"""A synthetic but photo-like whole-slide image for the slide benchmark: a tiled pyramidal TIFF with JPEG
tiles, like a brightfield scan (white glass, pink tissue in lobes, purple nuclei, grain), written tile
by tile so its memory stays a few tiles whatever its size.

    python benchmarks/make_slide.py OUT.tif                         # 2.1 gigapixels (46,000 x 46,000)
    python benchmarks/make_slide.py OUT.tif --megapixels 210        # a tenth of that
    python benchmarks/make_slide.py OUT.tif --width 3000 --height 2000 --tile 256

Every level is drawn from the same picture (a function of the slide's coordinates, sampled at each
level's pixel centres), so the levels agree with each other as a scanner's would, and no level is ever
held whole."""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

TILE = 512
DEFAULT_MEGAPIXELS = 2116  # 46,000 x 46,000
MIN_SIDE = 512
GLASS = np.array([242, 240, 244], np.float32)
TISSUE = np.array([226, 150, 190], np.float32)
NUCLEUS = np.array([110, 60, 150], np.float32)


def waves(seed: int, count: int, period: tuple[float, float]) -> list[tuple[float, float, float]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        angle, length = rng.uniform(0, math.pi), rng.uniform(*period)
        out.append((math.cos(angle) * 2 * math.pi / length, math.sin(angle) * 2 * math.pi / length,
                    rng.uniform(0, 2 * math.pi)))
    return out


def field(yy: np.ndarray, xx: np.ndarray, components) -> np.ndarray:
    out = np.zeros(yy.shape, np.float32)
    for ky, kx, phase in components:
        out += np.sin(ky * yy + kx * xx + phase)
    return out / len(components)


class Picture:
    """The slide as a function of level-0 coordinates (float arrays of any shape)."""

    def __init__(self, height: int, width: int, seed: int = 0) -> None:
        scale = max(height, width)
        self.lobes = waves(seed, 5, (scale / 3, scale / 1.2))  # tissue versus glass
        self.texture = waves(seed + 1, 6, (300.0, 1500.0))  # stroma density
        self.nuclei = waves(seed + 2, 4, (18.0, 30.0))  # small dark blobs where the crests meet
        self.rng = np.random.default_rng(seed + 3)

    def rgb(self, yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
        tissue = np.clip((field(yy, xx, self.lobes) + 0.1) * 6, 0, 1)
        density = 0.6 + 0.4 * field(yy, xx, self.texture)
        nuclei = np.clip((field(yy, xx, self.nuclei) - 0.45) * 5, 0, 1) * tissue
        colour = GLASS + (TISSUE - GLASS) * (tissue * density)[..., None]
        colour = colour + (NUCLEUS - colour) * nuclei[..., None]
        colour += self.rng.normal(0, 4, colour.shape).astype(np.float32)
        return np.clip(colour, 0, 255).astype(np.uint8)


def level_shapes(height: int, width: int) -> list[tuple[int, int]]:
    shapes = [(height, width)]
    while max(shapes[-1]) > MIN_SIDE:
        shapes.append((-(-shapes[-1][0] // 2), -(-shapes[-1][1] // 2)))
    return shapes


def tiles(picture: Picture, shape: tuple[int, int], level: int, tile: int) -> Iterator[np.ndarray]:
    s = 2**level
    for y0 in range(0, shape[0], tile):
        for x0 in range(0, shape[1], tile):
            yy, xx = np.mgrid[y0:y0 + tile, x0:x0 + tile].astype(np.float32)
            yield picture.rgb((yy + 0.5) * s, (xx + 0.5) * s)


def make_slide(out: Path, height: int, width: int, tile: int = TILE, quality: int = 85, seed: int = 0) -> Path:
    import tifffile

    picture = Picture(height, width, seed)
    shapes = level_shapes(height, width)
    kw = {"tile": (tile, tile), "dtype": np.uint8, "photometric": "rgb", "compression": "jpeg",
          "compressionargs": {"level": quality}}
    tmp = out.with_name(out.name + ".part")
    with tifffile.TiffWriter(tmp, bigtiff=True) as writer:
        writer.write(tiles(picture, shapes[0], 0, tile), shape=(*shapes[0], 3), subifds=len(shapes) - 1, **kw)
        for k in range(1, len(shapes)):
            writer.write(tiles(picture, shapes[k], k, tile), shape=(*shapes[k], 3), subfiletype=1, **kw)
    tmp.replace(out)
    return out


def side_for(megapixels: float) -> int:
    return int(round(math.sqrt(megapixels * 1e6)))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--megapixels", type=float, default=DEFAULT_MEGAPIXELS, help="a square slide of this size")
    ap.add_argument("--width", type=int, help="with --height: this exact size instead")
    ap.add_argument("--height", type=int)
    ap.add_argument("--tile", type=int, default=TILE)
    ap.add_argument("--quality", type=int, default=85, help="JPEG quality")
    args = ap.parse_args(argv)
    if (args.width is None) != (args.height is None):
        ap.error("--width and --height go together")
    h, w = (args.height, args.width) if args.width else (side_for(args.megapixels),) * 2
    start = time.perf_counter()
    make_slide(args.out, h, w, args.tile, args.quality)
    size = args.out.stat().st_size
    print(f"{args.out}: {w} x {h} ({w * h / 1e9:.2f} gigapixels), {len(level_shapes(h, w))} levels, "
          f"{size / 2**20:.0f} MiB, written in {time.perf_counter() - start:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
