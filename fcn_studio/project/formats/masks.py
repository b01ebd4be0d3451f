"""Image + mask folders, Cityscapes style: images/<name>.<ext>, labels/<name>_labelIds.png (class ids
as grey values, 255 ignore), colors/<name>_color.png (for people), and classes.json / classes.txt.
Any pipeline that reads "image + mask" pairs reads this."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from fcn_studio.core.atomic import atomic_path
from fcn_studio.core.image_io import find_images
from fcn_studio.core.labels import LabelSet
from fcn_studio.core.mask_io import read_mask
from fcn_studio.core.overlay import overlay_lut
from fcn_studio.project.formats.common import (
    ExportItem,
    ExportOptions,
    FormatError,
    ImportReport,
    Incoming,
    Progress,
    place_image,
    run_export,
    split_list,
    store,
)
from fcn_studio.project.project import Project

SUFFIXES = ("_labelIds", "_mask", "_label", "_labels")


def _save_png(path: Path, array: np.ndarray, mode: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        Image.fromarray(array, mode=mode).save(tmp, format="PNG")


def export_masks(project: Project, out: Path, options: ExportOptions, progress: Progress | None = None) -> int:
    def write_item(tmp: Path, _index: int, it: ExportItem, mask: np.ndarray, labels: LabelSet) -> None:
        place_image(it.image, tmp / "images" / f"{it.name}{it.image.suffix.lower()}", options.link)
        _save_png(tmp / "labels" / f"{it.name}_labelIds.png", mask, "L")
        colours = overlay_lut(labels, 1.0)[:, :3]
        _save_png(tmp / "colors" / f"{it.name}_color.png", np.ascontiguousarray(colours[mask]), "RGB")

    def finish(tmp: Path, items: list[ExportItem], labels: LabelSet) -> None:
        (tmp / "classes.json").write_text(json.dumps(labels.to_dict(), indent=2))
        (tmp / "classes.txt").write_text("".join(f"{n}\n" for n in labels.names))
        for split in ("train", "val"):
            (tmp / f"{split}.txt").write_text(split_list(items, split))

    return run_export(project, out, options, progress, write_item, finish)


def _mask_stem(path: Path) -> str:
    stem = path.stem
    for suffix in SUFFIXES:
        if stem.endswith(suffix):
            return stem[: -len(suffix)]
    return stem


def import_masks(project: Project, root: Path, overwrite: bool = False,
                 progress: Progress | None = None) -> ImportReport:
    root = Path(root)
    mask_dir = next((root / d for d in ("labels", "masks", "annotations") if (root / d).is_dir()), None)
    image_dir = root / "images"
    if mask_dir is None or not image_dir.is_dir():
        raise FormatError(f"{root}: expected images/ beside labels/ (or masks/)")
    if (root / "classes.json").is_file():
        labels = LabelSet.from_file(root / "classes.json")
    elif (root / "classes.txt").is_file():
        labels = LabelSet.from_file(root / "classes.txt")
    else:
        top = 0
        for p in mask_dir.glob("*.png"):
            try:
                values = read_mask(p)
            except ValueError:
                continue  # reported with its image below; one bad file must not stop the import
            top = max(top, int(values[values != 255].max(initial=0)))
        labels = LabelSet(tuple(f"class_{i}" for i in range(top + 1)))
    report = ImportReport()
    images = {p.stem: p for p in find_images(image_dir)}
    masks = {_mask_stem(p): p for p in sorted(mask_dir.glob("*.png"))}
    for stem in sorted(set(masks) - set(images)):
        report.problem(f"{masks[stem]}: no image {stem}.* in {image_dir}")
    items = [Incoming(images[s], reader=lambda shape, m=masks[s]: read_mask(m, shape=shape, labels=labels))
             for s in sorted(set(masks) & set(images))]
    return store(project, items, labels, overwrite, report, progress)
