"""What every exporter shares: which images, the project's own train/val split (the one training and
evaluation use), copy or link, a class remapping, and an output folder that appears whole or not at
all (built beside, renamed at the end). Imports share formats.importing."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fcn_studio.core.atomic import FolderNotEmpty, atomic_dir
from fcn_studio.core.labels import LabelSet
from fcn_studio.core.progress import Progress
from fcn_studio.core.splits import assign_sides
from fcn_studio.project.formats.tiles import STAGING, tile_items
from fcn_studio.project.project import ImageRecord, Project
from fcn_studio.project.schema import HUMAN_STATES

WHICH = {"reviewed": ("reviewed",), "human": HUMAN_STATES, "all": ("predicted", "corrected", "reviewed")}


class FormatError(ValueError):
    """Input that cannot be read as the format says, or an export that cannot be written."""


class UnknownLayout(FormatError):
    """A folder whose format could not be told. The message names no control: the command line adds
    "name the format with --format", the window names its Format list."""


@dataclass
class ExportOptions:
    which: str = "human"  # reviewed | human (corrected + reviewed) | all (with predictions)
    val_fraction: float = 0.2  # only for images the project's stored split does not hold yet, as in training
    link: bool = False  # hard-link (else symlink) images instead of copying, where the format allows
    remap: dict[str, str | None] = field(default_factory=dict)  # class name -> new name, or None: ignore
    replace: bool = False  # replace an existing output folder
    tiles: int | None = None  # cut images and masks into tiles of this side (formats.tiles); slides too


@dataclass
class ExportItem:
    record: ImageRecord
    image: Path
    name: str  # unique file stem in the export
    split: str  # train | val


def export_items(project: Project, options: ExportOptions, slides: bool = False) -> list[ExportItem]:
    """The chosen images that have labels; whole slides (labels in a label pyramid) only for the
    formats that read them region by region (`slides`)."""
    if options.which not in WHICH:
        raise FormatError(f"which images: one of {', '.join(WHICH)}, not {options.which!r}")
    records = [r for r in project.images() if r.state in WHICH[options.which] and (
        labels_file(project, r).is_file()
        or (slides and r.state in HUMAN_STATES and project.mask_pyramid_path(r.id).is_dir()))]
    sides = export_sides(project, records, options.val_fraction)
    used: set[str] = set()
    items = []
    for rec in records:
        image = project.image_path(rec)
        name = image.stem
        if name in used:
            name = f"{image.stem}_{rec.id}"
        used.add(name)
        items.append(ExportItem(rec, image, name, sides[rec.id]))
    return items


def export_sides(project: Project, records: list[ImageRecord], val_fraction: float) -> dict[int, str]:
    """Each image's side ("train" | "val"): the project's stored split, so an exported val set is the
    one models were chosen on; an image the split does not hold (one with only a prediction) gets the
    side the project's policy would give it, so it stays there once a person labels it."""
    stored = project.training_split(val_fraction)
    sides = assign_sides({str(k): v for k, v in stored.items()},
                         [str(r.id) for r in records if r.id not in stored], val_fraction)
    return {r.id: sides[str(r.id)] for r in records}


def each(items: list, progress: Progress | None):
    """Yields the items, reporting progress before each and once at the end."""
    for k, item in enumerate(items):
        if progress:
            progress(k, len(items))
        yield item
    if progress:
        progress(len(items), len(items))


def run_export(project: Project, out: Path, options: ExportOptions, progress: Progress | None,
               write_item: Callable[[Path, int, ExportItem, np.ndarray, LabelSet], None],
               finish: Callable[[Path, list[ExportItem], LabelSet], None] | None = None) -> int:
    """The part every exporter shares: the chosen images, the remapped classes, a staged output folder
    and progress. `write_item(folder, index, item, mask, labels)` writes one image with its mask (already
    in the exported class indices); `finish(folder, items, labels)` writes the files about the whole set."""
    labels, lut = remapped(project.labels, options.remap)
    if options.tiles is not None and options.tiles < 16:
        raise FormatError(f"tiles of {options.tiles} pixels are too small (16 at least)")
    items = export_items(project, options, slides=options.tiles is not None)
    written: list[ExportItem] = []
    try:
        with atomic_dir(out, options.replace) as tmp:
            for item in each(items, progress):
                if options.tiles is None:
                    mask, _human = project.load_shown_mask(item.record.id)
                    write_item(tmp, len(written), item, lut[mask], labels)
                    written.append(item)
                    continue
                for tile, mask in tile_items(project, item, options.tiles, tmp / STAGING):
                    write_item(tmp, len(written), tile, lut[mask], labels)
                    written.append(tile)
                    tile.image.unlink()  # placed (copied) by the writer
            if options.tiles is not None:
                shutil.rmtree(tmp / STAGING, ignore_errors=True)
            if finish is not None:
                finish(tmp, written, labels)
    except FolderNotEmpty as exc:
        raise FormatError(f"{exc}; choose another folder or ask to replace it") from None
    return len(written)


def labels_file(project: Project, record: ImageRecord) -> Path:
    """Where an image's labels are: the person's mask, or for a predicted image the model's."""
    return project.mask_path(record.id) if record.state in HUMAN_STATES else project.prediction_path(record.id)


def split_list(items: list[ExportItem], split: str | None = None) -> str:
    """The names of one split (or of all), one per line, as split files list them."""
    return "".join(f"{it.name}\n" for it in items if split is None or it.split == split)


def remapped(labels: LabelSet, remap: dict[str, str | None]) -> tuple[LabelSet, np.ndarray]:
    """The exported label set and a 256-entry look-up table from project indices to exported ones."""
    unknown = [n for n in remap if n not in labels.names]
    if unknown:
        raise FormatError(f"class remapping names unknown classes: {', '.join(unknown)}")
    names, colors, lut = [], [], np.full(256, labels.ignore_index, np.uint8)
    for i, (name, color) in enumerate(zip(labels.names, labels.colors, strict=True)):
        target = remap.get(name, name)
        if target is None:
            continue
        if target not in names:
            names.append(target)
            colors.append(color)
        lut[i] = names.index(target)
    return LabelSet(tuple(names), tuple(colors), labels.ignore_index), lut


def place_image(src: Path, dst: Path, link: bool) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if link:
        try:
            os.link(src, dst)
            return
        except OSError:
            os.symlink(src.resolve(), dst)  # another filesystem: a symbolic link
            return
    shutil.copyfile(src, dst)  # not copy2: the copy gets ordinary permissions, not the source's
