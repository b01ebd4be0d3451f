"""Training data: the labelled images of a project (its stored split) or a Pascal VOC folder, and the
augmentation the recipes ask for (random scale, crop padded with ignore, flip, light colour jitter).
Images and masks enter through the same loaders as everywhere else."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from fcn_studio.core.image_io import load_image
from fcn_studio.core.labels import LabelSet
from fcn_studio.core.mask_io import read_mask
from fcn_studio.core.splits import split_side
from fcn_studio.model.input_spec import InputSpec
from fcn_studio.project.formats.common import FormatError
from fcn_studio.project.formats.voc import scan_voc
from fcn_studio.project.project import Project

IGNORE = 255


@dataclass(frozen=True)
class Item:
    image: Path
    mask: Path
    key: str  # stable identity (project image id or file stem), for splits and reports


@dataclass
class DataSource:
    labels: LabelSet
    train: list[Item]
    val: list[Item]
    description: str


def project_source(root: str | Path, val_fraction: float = 0.2) -> DataSource:
    project = Project.open(root)
    try:
        split = project.training_split(val_fraction)
        items = {i: Item(project.image_path(i), project.mask_path(i), str(i)) for i in split}
        train = [items[i] for i, side in split.items() if side == "train"]
        val = [items[i] for i, side in split.items() if side == "val"]
        if len(items) < 5:  # too few to hold any back: learn from all, validate on all
            train = val = list(items.values())
        return DataSource(project.labels, train, val, f"project {project.root} ({len(items)} labelled images)")
    finally:
        project.close()


def voc_source(root: str | Path, val_fraction: float = 0.2) -> DataSource:
    """A Pascal VOC folder as the dataset importer reads it; ImageSets/Segmentation/{train,val}.txt if
    present, else a hash split."""
    root = Path(root)
    try:
        labels, pairs = scan_voc(root)
    except FormatError as exc:
        raise ValueError(str(exc)) from exc
    items = {stem: Item(image, mask, stem) for stem, image, mask in pairs}
    if not items:
        raise ValueError(f"{root}: no image in JPEGImages/ has a mask in SegmentationClass/")
    sets = root / "ImageSets" / "Segmentation"
    if (sets / "train.txt").is_file() and (sets / "val.txt").is_file():
        def names(f: Path) -> list[str]:
            return [n.strip() for n in f.read_text().splitlines() if n.strip() in items]
        train, val = [items[n] for n in names(sets / "train.txt")], [items[n] for n in names(sets / "val.txt")]
    else:
        train = [it for s, it in sorted(items.items()) if split_side(s, val_fraction) == "train"]
        val = [it for s, it in sorted(items.items()) if split_side(s, val_fraction) == "val"]
    if len(items) < 5 or not val or not train:
        train = val = [items[s] for s in sorted(items)]
    return DataSource(labels, train, val, f"VOC folder {root} ({len(items)} labelled images)")


def open_source(path: str | Path, val_fraction: float = 0.2) -> DataSource:
    path = Path(path)
    if Project.is_project(path):
        return project_source(path, val_fraction)
    if (path / "JPEGImages").is_dir():
        return voc_source(path, val_fraction)
    raise ValueError(f"{path}: neither a project (project.sqlite) nor a Pascal VOC folder (JPEGImages/)")


@dataclass(frozen=True)
class Augment:
    crop: int = 320
    scale: tuple[float, float] = (0.75, 1.5)
    flip: bool = True
    jitter: float = 0.1  # brightness/contrast/saturation, as a fraction


def augment(image: np.ndarray, mask: np.ndarray, aug: Augment,
            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    s = rng.uniform(*aug.scale)
    if abs(s - 1) > 1e-3:
        h, w = mask.shape
        size = (max(1, round(w * s)), max(1, round(h * s)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)
        mask = cv2.resize(mask, size, interpolation=cv2.INTER_NEAREST)
    image, mask = random_crop(image, mask, aug.crop, rng)
    if aug.flip and rng.random() < 0.5:
        image, mask = image[:, ::-1], mask[:, ::-1]
    if aug.jitter > 0:
        image = colour_jitter(image, aug.jitter, rng)
    return np.ascontiguousarray(image), np.ascontiguousarray(mask)


def random_crop(image: np.ndarray, mask: np.ndarray, size: int, rng: np.random.Generator):
    """A size x size crop; smaller images are padded, the mask with ignore so padding never trains."""
    h, w = mask.shape
    ph, pw = max(0, size - h), max(0, size - w)
    if ph or pw:
        image = cv2.copyMakeBorder(image, 0, ph, 0, pw, cv2.BORDER_CONSTANT, value=(0, 0, 0))
        mask = cv2.copyMakeBorder(mask, 0, ph, 0, pw, cv2.BORDER_CONSTANT, value=IGNORE)
        h, w = mask.shape
    y = int(rng.integers(0, h - size + 1))
    x = int(rng.integers(0, w - size + 1))
    return image[y : y + size, x : x + size], mask[y : y + size, x : x + size]


def colour_jitter(image: np.ndarray, amount: float, rng: np.random.Generator) -> np.ndarray:
    """Brightness, contrast and saturation in uint8 OpenCV passes: on a two-core machine the data
    work competes with the model for the same cores, so it has to be small, not just overlapped."""
    brightness = rng.uniform(1 - amount, 1 + amount)
    contrast = rng.uniform(1 - amount, 1 + amount)
    saturation = rng.uniform(1 - amount, 1 + amount)
    mean = float(image.mean())
    img = cv2.convertScaleAbs(image, alpha=brightness * contrast, beta=brightness * mean * (1 - contrast))
    grey = cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    return cv2.addWeighted(img, saturation, grey, 1 - saturation, 0)


class SegmentationDataset(Dataset):
    """Decoded images are cached in memory (labelling projects are small; decoding dominated)."""

    def __init__(self, items: list[Item], labels: LabelSet, spec: InputSpec, aug: Augment | None,
                 repeat: int = 1, seed: int = 0, cache: bool = True) -> None:
        self.items, self.labels, self.spec, self.aug, self.repeat = items, labels, spec, aug, repeat
        self.seed = seed
        self.epoch = 0
        self._cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.cache = cache

    def __len__(self) -> int:
        return len(self.items) * self.repeat

    def load(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        if index in self._cache:
            return self._cache[index]
        item = self.items[index]
        image = load_image(item.image)
        mask = read_mask(item.mask, shape=image.shape[:2], labels=self.labels)
        mask = np.where(mask < len(self.labels), mask, IGNORE).astype(np.uint8)  # unknown ids are ignored
        if self.cache:
            self._cache[index] = (image, mask)
        return image, mask

    def __getitem__(self, index: int):
        """(H x W x 3 uint8 image, H x W int64 mask); `normalise_batch` prepares whole batches."""
        image, mask = self.load(index % len(self.items))
        if self.aug is not None:
            rng = np.random.default_rng((self.seed, self.epoch, index))
            image, mask = augment(image, mask, self.aug, rng)
        return torch.from_numpy(np.ascontiguousarray(image)), torch.from_numpy(mask.astype(np.int64))
