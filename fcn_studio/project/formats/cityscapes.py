"""Cityscapes' own folders: `leftImg8bit/<split>/<city>/<name>_leftImg8bit.png` beside
`gtFine/<split>/<city>/<name>_gtFine_labelIds.png` (with `_labelTrainIds.png` and `_color.png`), the
layout Cityscapes' scripts and mmsegmentation read. The ids are Cityscapes' label ids (LABELS, the
table of cityscapesscripts' helpers/labels.py), mapped through the label set by class name:

- import: an id whose label the project has (by name) is that class; the other labels Cityscapes
  evaluates come in as classes with Cityscapes' colours; the ones it ignores in evaluation
  (unlabeled, ego vehicle, ..., license plate) are read as unlabelled, and the report names them.
  A `_labelTrainIds.png` (or, failing both, a `_color.png`) is read where no `_labelIds.png` is.
- export: every class must be a Cityscapes label (rename with --remap, or drop one to unlabelled);
  unlabelled pixels are id 0 (unlabeled) and train id 255. Files are named `<city>_000000_<n>` as
  Cityscapes' scripts parse them; names.txt says which image each one is."""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image

from fcn_studio.core.atomic import atomic_path
from fcn_studio.core.image_io import load_image
from fcn_studio.core.labels import LabelSet
from fcn_studio.core.mask_io import read_mask
from fcn_studio.project.formats.common import (
    ExportItem,
    ExportOptions,
    FormatError,
    Progress,
    place_image,
    remapped,
    run_export,
)
from fcn_studio.project.formats.importing import ImportReport, Incoming, Source, store
from fcn_studio.project.project import Project


class Label(NamedTuple):
    name: str
    id: int
    train_id: int
    ignore_in_eval: bool
    color: tuple[int, int, int]


LABELS = (
    Label("unlabeled", 0, 255, True, (0, 0, 0)), Label("ego vehicle", 1, 255, True, (0, 0, 0)),
    Label("rectification border", 2, 255, True, (0, 0, 0)), Label("out of roi", 3, 255, True, (0, 0, 0)),
    Label("static", 4, 255, True, (0, 0, 0)), Label("dynamic", 5, 255, True, (111, 74, 0)),
    Label("ground", 6, 255, True, (81, 0, 81)), Label("road", 7, 0, False, (128, 64, 128)),
    Label("sidewalk", 8, 1, False, (244, 35, 232)), Label("parking", 9, 255, True, (250, 170, 160)),
    Label("rail track", 10, 255, True, (230, 150, 140)), Label("building", 11, 2, False, (70, 70, 70)),
    Label("wall", 12, 3, False, (102, 102, 156)), Label("fence", 13, 4, False, (190, 153, 153)),
    Label("guard rail", 14, 255, True, (180, 165, 180)), Label("bridge", 15, 255, True, (150, 100, 100)),
    Label("tunnel", 16, 255, True, (150, 120, 90)), Label("pole", 17, 5, False, (153, 153, 153)),
    Label("polegroup", 18, 255, True, (153, 153, 153)), Label("traffic light", 19, 6, False, (250, 170, 30)),
    Label("traffic sign", 20, 7, False, (220, 220, 0)), Label("vegetation", 21, 8, False, (107, 142, 35)),
    Label("terrain", 22, 9, False, (152, 251, 152)), Label("sky", 23, 10, False, (70, 130, 180)),
    Label("person", 24, 11, False, (220, 20, 60)), Label("rider", 25, 12, False, (255, 0, 0)),
    Label("car", 26, 13, False, (0, 0, 142)), Label("truck", 27, 14, False, (0, 0, 70)),
    Label("bus", 28, 15, False, (0, 60, 100)), Label("caravan", 29, 255, True, (0, 0, 90)),
    Label("trailer", 30, 255, True, (0, 0, 110)), Label("train", 31, 16, False, (0, 80, 100)),
    Label("motorcycle", 32, 17, False, (0, 0, 230)), Label("bicycle", 33, 18, False, (119, 11, 32)),
    Label("license plate", -1, -1, True, (0, 0, 142)),
)
IMAGE_SUFFIX = "_leftImg8bit"
IDS, TRAIN_IDS, COLOUR = "_gtFine_labelIds", "_gtFine_labelTrainIds", "_gtFine_color"


def is_cityscapes(root: Path) -> bool:
    return (Path(root) / "leftImg8bit").is_dir() and (Path(root) / "gtFine").is_dir()


# -- import -----------------------------------------------------------------------------------------
def source_labels(project: LabelSet) -> tuple[LabelSet, np.ndarray, list[str]]:
    """The classes Cityscapes' ids stand for in this project, the table from label id (and, at
    256 + train id, from train id) to those classes, and the ignored labels read as unlabelled."""
    names, colors, unlabelled = [], [], []
    lut = np.full(512, 255, np.uint8)
    for label in LABELS:
        if label.id < 0:
            continue
        if label.ignore_in_eval and label.name not in project.names:
            unlabelled.append(label.name)
            continue
        lut[label.id] = len(names)
        if not label.ignore_in_eval:
            lut[256 + label.train_id] = len(names)
        names.append(label.name)
        colors.append(label.color)
    return LabelSet(tuple(names), tuple(colors)), lut, unlabelled


def _read(path: Path, kind: str, shape: tuple[int, int], lut: np.ndarray) -> np.ndarray:
    if kind == COLOUR:
        with Image.open(path) as img:
            rgb = np.asarray(img.convert("RGB"))
        if rgb.shape[:2] != shape:
            raise ValueError(f"{path}: the mask is {rgb.shape[1]}x{rgb.shape[0]}, the image {shape[1]}x{shape[0]}")
        out = np.full(shape, 255, np.uint8)
        for label in LABELS:  # only the colours one evaluated label alone has
            if not label.ignore_in_eval and sum(x.color == label.color for x in LABELS) == 1:
                out[(rgb == label.color).all(-1)] = lut[256 + label.train_id]
        return out
    ids = read_mask(path, shape=shape)
    return lut[ids.astype(np.intp) + (256 if kind == TRAIN_IDS else 0)]


def import_cityscapes(project: Project, root: Path, source: Source,
                      progress: Progress | None = None) -> ImportReport:
    root = Path(root)
    if not is_cityscapes(root):
        raise FormatError(f"{root}: not a Cityscapes folder (leftImg8bit/ beside gtFine/)")
    report = source.report
    labels, lut, unlabelled = source_labels(project.labels)
    items = []
    for image in sorted((root / "leftImg8bit").rglob(f"*{IMAGE_SUFFIX}.png")):
        rel = image.parent.relative_to(root / "leftImg8bit")
        name = image.name[: -len(f"{IMAGE_SUFFIX}.png")]
        found = next(((kind, root / "gtFine" / rel / f"{name}{kind}.png") for kind in (IDS, TRAIN_IDS, COLOUR)
                      if (root / "gtFine" / rel / f"{name}{kind}.png").is_file()), None)
        if found is None:
            report.problem(f"{image}: no {name}{IDS}.png in {root / 'gtFine' / rel}")
            continue
        items.append(Incoming(image, reader=lambda shape, f=found: _read(f[1], f[0], shape, lut)))
    if not items and not report.problems:
        raise FormatError(f"{root}: no *{IMAGE_SUFFIX}.png under leftImg8bit/")
    if unlabelled:
        report.note(f"Cityscapes labels ignored in its evaluation are read as unlabelled: {', '.join(unlabelled)}")
    return store(project, items, labels, source, progress)


# -- export -----------------------------------------------------------------------------------------
def export_tables(labels: LabelSet) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Label id, train id and colour of each class index (ignore: id 0, train id 255, black); a class
    that is no Cityscapes label is refused, naming it."""
    by_name = {label.name: label for label in LABELS}
    unknown = [n for n in labels.names if n not in by_name]
    if unknown:
        raise FormatError(f"classes that are not Cityscapes labels: {', '.join(unknown)}; rename them to Cityscapes "
                          f"names (--remap OLD=NEW) or make them unlabelled (--remap OLD=), or export as masks")
    ids, train, colours = np.zeros(256, np.uint8), np.full(256, 255, np.uint8), np.zeros((256, 3), np.uint8)
    for i, name in enumerate(labels.names):
        label = by_name[name]
        ids[i] = max(label.id, 0)
        train[i] = label.train_id if label.train_id >= 0 else 255
        colours[i] = label.color
    return ids, train, colours


def _png(path: Path, array: np.ndarray, mode: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        Image.fromarray(np.ascontiguousarray(array), mode=mode).save(tmp, format="PNG")


def export_cityscapes(project: Project, out: Path, options: ExportOptions, progress: Progress | None = None) -> int:
    city = re.sub(r"[^a-z0-9]", "", project.name.lower()) or "fcnstudio"
    ids, train, colours = export_tables(remapped(project.labels, options.remap)[0])
    names: list[str] = []

    def write_item(tmp: Path, index: int, it: ExportItem, mask: np.ndarray, _labels: LabelSet) -> None:
        name = f"{city}_000000_{index:06d}"
        image = tmp / "leftImg8bit" / it.split / city / f"{name}{IMAGE_SUFFIX}.png"
        if it.image.suffix.lower() == ".png" and _upright(it.image):
            place_image(it.image, image, options.link)
        else:
            _png(image, load_image(it.image), "RGB")
        gt = tmp / "gtFine" / it.split / city
        _png(gt / f"{name}{IDS}.png", ids[mask], "L")
        _png(gt / f"{name}{TRAIN_IDS}.png", train[mask], "L")
        _png(gt / f"{name}{COLOUR}.png", colours[mask], "RGB")
        names.append(f"{it.split}/{city}/{name}\t{it.record.path}\n")

    def finish(tmp: Path, _items: list[ExportItem], _labels: LabelSet) -> None:
        (tmp / "names.txt").write_text("".join(names), encoding="utf-8")

    return run_export(project, out, options, progress, write_item, finish)


def _upright(path: Path) -> bool:
    with Image.open(path) as img:
        return img.getexif().get(0x0112, 1) == 1 and img.mode == "RGB"
