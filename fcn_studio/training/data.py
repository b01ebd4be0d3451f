"""Training data: the labelled images of a project (its stored split) or a Pascal VOC folder, and the
augmentation the recipes ask for (random scale, crop padded with ignore, flip, light colour jitter).
Images and masks enter through the same loaders as everywhere else; the ignore index is the label
set's."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset, default_collate

from fcn_studio.core.image_io import ImageLoadError, load_image
from fcn_studio.core.labels import LabelSet
from fcn_studio.core.mask_io import MaskError, read_mask
from fcn_studio.core.splits import HELD_OUT, TRAINED, VAL, WHOLE, assign_sides, mask_part
from fcn_studio.model.input_spec import InputSpec
from fcn_studio.project.formats.common import FormatError
from fcn_studio.project.formats.voc import scan_voc
from fcn_studio.project.project import Project
from fcn_studio.project.slide_crops import slide_crops


@dataclass(frozen=True)
class Item:
    image: Path
    mask: Path
    key: str  # stable identity (project image id or file stem), for splits and reports
    part: str = WHOLE  # of the mask: WHOLE, TRAINED or HELD_OUT (core.splits: a project's held-out regions)

    @property
    def name(self) -> str:
        """What is scored or trained, for fingerprints: the key, and the part unless it is the whole."""
        return self.key if self.part == WHOLE else f"{self.key} ({self.part})"


@dataclass
class DataSource:
    labels: LabelSet
    train: list[Item]
    val: list[Item]
    description: str


def project_source(root: str | Path, val_fraction: float = 0.2) -> DataSource:
    """The project's labelled images on the sides of its stored split (fcn_studio.core.splits): the
    validation images whole, and the training images' held-out regions, which validate from the first
    corrected image on and are never trained on."""
    project = Project.open(root)
    try:
        split = project.training_split(val_fraction)
        items = {i: _items_of(project, i) for i in split}
        train = [replace(it, part=TRAINED) for i, side in split.items() if side != VAL for it in items[i]]
        val = ([it for i, side in split.items() if side == VAL for it in items[i]]
               + [replace(item, part=HELD_OUT) for item in train])
        return DataSource(project.labels, train, val, f"project {project.root} ({len(items)} labelled images)")
    finally:
        project.close()


def _items_of(project: Project, image_id: int) -> list[Item]:
    """An image's training item; a whole slide's labelled windows, each as an item of its own
    (project.slide_crops: a slide is never read whole), on the slide's side of the split."""
    if not project.mask_pyramid_path(image_id).is_dir():
        return [Item(project.image_path(image_id), project.mask_path(image_id), str(image_id))]
    try:
        crops = slide_crops(project, image_id)
    except (OSError, ImageLoadError, ValueError):
        return []  # a slide that cannot be read (moved, damaged): its windows wait for it
    return [Item(image, mask, f"{image_id}@{y0},{x0}") for image, mask, (y0, x0, _y1, _x1) in crops]


def voc_source(root: str | Path, val_fraction: float = 0.2) -> DataSource:
    """A Pascal VOC folder as the dataset importer reads it; ImageSets/Segmentation/{train,val}.txt if
    present, else the one split policy over the sorted names."""
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
        sides = assign_sides({}, sorted(items), val_fraction)
        train = [items[s] for s in sorted(items) if sides[s] != VAL]
        val = [items[s] for s in sorted(items) if sides[s] == VAL]
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


def augment(image: np.ndarray, mask: np.ndarray, aug: Augment, rng: np.random.Generator,
            ignore: int) -> tuple[np.ndarray, np.ndarray]:
    s = rng.uniform(*aug.scale)
    if abs(s - 1) > 1e-3:
        h, w = mask.shape
        size = (max(1, round(w * s)), max(1, round(h * s)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)
        mask = cv2.resize(mask, size, interpolation=cv2.INTER_NEAREST)
    image, mask = random_crop(image, mask, aug.crop, rng, ignore)
    if aug.flip and rng.random() < 0.5:
        image, mask = image[:, ::-1], mask[:, ::-1]
    if aug.jitter > 0:
        image = colour_jitter(image, aug.jitter, rng)
    return np.ascontiguousarray(image), np.ascontiguousarray(mask)


def fitted_crop(crop: int, items: list[Item], multiple: int = 32) -> int:
    """The recipe's crop, or less when every training image is smaller: a 128 x 128 microscopy tile in a
    320 x 320 crop is 84% padding, computed and learned from nothing. Rounded up to the network's stride;
    an image whose size cannot be read from its header counts as large."""
    largest = 0
    for item in items:
        try:
            with Image.open(item.image) as im:
                largest = max(largest, *im.size)
        except (OSError, ValueError):
            return crop
    if not largest:
        return crop
    return min(crop, -(-largest // multiple) * multiple)


def random_crop(image: np.ndarray, mask: np.ndarray, size: int, rng: np.random.Generator, ignore: int):
    """A size x size crop; smaller images are padded, the mask with ignore so padding never trains."""
    h, w = mask.shape
    ph, pw = max(0, size - h), max(0, size - w)
    if ph or pw:
        image = cv2.copyMakeBorder(image, 0, ph, 0, pw, cv2.BORDER_CONSTANT, value=(0, 0, 0))
        mask = cv2.copyMakeBorder(mask, 0, ph, 0, pw, cv2.BORDER_CONSTANT, value=ignore)
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


@dataclass(frozen=True)
class Skipped:
    """An item that could not be read when its turn came: its mask was undone or cleared after the
    list was made (a person works while the model trains), or a file is unreadable. The epoch goes on
    without it; the trainer says so in a `warning` event."""

    key: str
    name: str
    reason: str


def _reason(item: Item, exc: Exception) -> str:
    if isinstance(exc, FileNotFoundError) or isinstance(exc.__cause__, FileNotFoundError):
        gone = Path(getattr(exc, "filename", None) or getattr(exc.__cause__, "filename", None) or item.mask)
        return f"{gone.name} is gone (it left the training set)"
    return str(exc)


def collate_readable(batch: list) -> tuple[torch.Tensor | None, torch.Tensor | None, list[Skipped]]:
    """(images, masks, skipped): the batch without the items that could not be read (None, None when
    none could)."""
    skipped = [b for b in batch if isinstance(b, Skipped)]
    kept = [b for b in batch if not isinstance(b, Skipped)]
    if not kept:
        return None, None, skipped
    images, masks = default_collate(kept)
    return images, masks, skipped


def _version(path: Path) -> tuple[int, int, int]:
    st = os.stat(path)
    return st.st_mtime_ns, st.st_size, st.st_ino


class SegmentationDataset(Dataset):
    """Decoded images are cached in memory (labelling projects are small; decoding dominated), keyed by
    the files and their modification time and size, so a mask a person corrects again mid-run is read
    again, and a changed item list (`--follow`) never returns another item's pixels.

    `items` and `epoch` are plain attributes that the trainer sets between epochs; it builds a new
    DataLoader every epoch, so worker processes always start from the current values."""

    def __init__(self, items: list[Item], labels: LabelSet, spec: InputSpec, aug: Augment | None,
                 repeat: int = 1, seed: int = 0, cache: bool = True) -> None:
        self.items, self.labels, self.spec, self.aug, self.repeat = items, labels, spec, aug, repeat
        self.seed = seed
        self.epoch = 0
        self._cache: dict[tuple[Path, Path, str], tuple[tuple, np.ndarray, np.ndarray]] = {}
        self.cache = cache

    def __len__(self) -> int:
        return len(self.items) * self.repeat

    def try_load(self, index: int) -> tuple[np.ndarray, np.ndarray] | Skipped:
        """`load`, or what kept the item from being read: no single file can end a run."""
        try:
            return self.load(index)
        except (OSError, ImageLoadError, MaskError) as exc:
            item = self.items[index]
            self._cache.pop((item.image, item.mask, item.part), None)
            return Skipped(item.key, item.image.name, _reason(item, exc))

    def load(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        item = self.items[index]
        key = (item.image, item.mask, item.part)
        version = (_version(item.image), _version(item.mask))
        cached = self._cache.get(key)
        if cached is not None and cached[0] == version:
            return cached[1], cached[2]
        image = load_image(item.image)
        mask = read_mask(item.mask, shape=image.shape[:2], labels=self.labels)
        ignore = self.labels.ignore_index
        mask = np.where(mask < len(self.labels), mask, ignore).astype(np.uint8)  # unknown ids are ignored
        mask = mask_part(mask, item.key, item.part, ignore)  # a training image's held-out regions: ignore
        if self.cache:
            self._cache[key] = (version, image, mask)
        return image, mask

    def __getitem__(self, index: int):
        """(H x W x 3 uint8 image, H x W int64 mask), or a Skipped item (`collate_readable` leaves it
        out of the batch); `normalise_batch` prepares whole batches."""
        loaded = self.try_load(index % len(self.items))
        if isinstance(loaded, Skipped):
            return loaded
        image, mask = loaded
        if self.aug is not None:
            rng = np.random.default_rng((self.seed, self.epoch, index))
            image, mask = augment(image, mask, self.aug, rng, self.labels.ignore_index)
        return torch.from_numpy(np.ascontiguousarray(image)), torch.from_numpy(mask.astype(np.int64))
