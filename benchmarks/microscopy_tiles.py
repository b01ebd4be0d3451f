"""Real microscopy for the loop benchmark: the 2018 Data Science Bowl fluorescence image of nuclei and its
annotation that StarDist ships (stardist/data/images/img2d.tif and mask2d.tif, 512 x 512, 16-bit; Caicedo
et al., Nature Methods 2019), cut into 16 tiles of 128 x 128: 16-bit PNG images and 2-class masks
(0 background, 1 nucleus) named alike.

    python benchmarks/microscopy_tiles.py OUT   # then: loop_bench.py --images OUT/images --masks OUT/masks

StarDist is a test extra installed without its dependencies (.ci/dev-extras.txt); only its data files are
read, by path, so nothing of it (or TensorFlow) is imported."""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

import numpy as np
from PIL import Image

TILE = 128


def stardist_images() -> Path:
    spec = importlib.util.find_spec("stardist")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("stardist is not installed: pip install --no-deps stardist (for its data files)")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "images"


def write_tiles(out: Path) -> tuple[Path, Path]:
    folder = stardist_images()
    image = np.array(Image.open(folder / "img2d.tif"))
    instances = np.array(Image.open(folder / "mask2d.tif"))
    if image.dtype != np.uint16 or image.shape != instances.shape:
        raise SystemExit(f"unexpected StarDist files: {image.dtype} {image.shape}, mask {instances.shape}")
    images, masks = out / "images", out / "masks"
    images.mkdir(parents=True, exist_ok=True)
    masks.mkdir(parents=True, exist_ok=True)
    rows, cols = image.shape[0] // TILE, image.shape[1] // TILE
    for r in range(rows):
        for c in range(cols):
            window = np.s_[r * TILE : (r + 1) * TILE, c * TILE : (c + 1) * TILE]
            name = f"tile_{r}{c}.png"
            Image.fromarray(np.ascontiguousarray(image[window])).save(images / name)  # 16-bit greyscale PNG
            Image.fromarray((instances[window] > 0).astype(np.uint8)).save(masks / name)
    (out / "classes.txt").write_text("background\nnucleus\n")
    return images, masks


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    images, masks = write_tiles(ap.parse_args().out)
    print(f"16 tiles: {images} {masks}")


if __name__ == "__main__":
    main()
