"""Image + mask folders, Cityscapes style: images/<name>.<ext>, labels/<name>_labelIds.png (class ids
as grey values, 255 ignore), colors/<name>_color.png (for people), and classes.json / classes.txt.
Any pipeline that reads "image + mask" pairs reads this. On import a class-id file is preferred to a
colour file of the same image, and a colour file is only ever read through the class colours."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from fcn_studio.core.atomic import atomic_path
from fcn_studio.core.image_io import find_images
from fcn_studio.core.labels import IGNORE_INDEX, VOC_COLORMAP, LabelSet
from fcn_studio.core.mask_io import read_mask
from fcn_studio.core.overlay import overlay_lut
from fcn_studio.project.formats.common import (
    ExportItem,
    ExportOptions,
    FormatError,
    Progress,
    place_image,
    run_export,
    split_list,
)
from fcn_studio.project.formats.importing import ImportReport, Incoming, Source, store
from fcn_studio.project.project import Project

MASK_FOLDERS = ("labels", "masks", "annotations", "ground_truth", "gt")  # beside images/

SUFFIXES = ("_labelIds", "_mask", "_label", "_labels", "")  # class-id files, the preferred first
COLOUR_SUFFIX = "_color"
COLOUR_MODES = ("RGB", "RGBA")


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


def _mask_name(path: Path) -> tuple[str, int]:
    """The image stem a mask file belongs to, and its rank: 0.. for class-id files in SUFFIXES' order
    of preference, len(SUFFIXES) for a colour file."""
    stem = path.stem
    if stem.endswith(COLOUR_SUFFIX):
        return stem[: -len(COLOUR_SUFFIX)], len(SUFFIXES)
    for rank, suffix in enumerate(SUFFIXES):
        if suffix and stem.endswith(suffix):
            return stem[: -len(suffix)], rank
    return stem, SUFFIXES.index("")


def _read(mask: tuple[int, Path], shape: tuple[int, int], labels: LabelSet) -> np.ndarray:
    """A mask file's class ids. A colour file is read through the label colours, and one saved in
    another mode (a palette or grey image) is refused rather than read as ids."""
    rank, path = mask
    if rank < len(SUFFIXES):
        return read_mask(path, shape=shape, labels=labels)
    with Image.open(path) as img:
        mode = img.mode
    if mode not in COLOUR_MODES:
        raise ValueError(f"{path}: a colour mask ({COLOUR_SUFFIX}) saved as a {mode} image; its class ids "
                         f"cannot be told from its colours safely (give the _labelIds file instead)")
    return read_mask(path, shape=shape, labels=labels)


def import_masks(project: Project, root: Path, source: Source,
                 progress: Progress | None = None) -> ImportReport:
    root = Path(root)
    # the first folder with masks in it (a project's own masks/ beside its ground_truth/ may be empty)
    folders = [root / d for d in MASK_FOLDERS if (root / d).is_dir()]
    mask_dir = next((f for f in folders if any(f.glob("*.png"))), folders[0] if folders else None)
    image_dir = root / "images"
    if mask_dir is None or not image_dir.is_dir():
        raise FormatError(f"{root}: expected images/ beside labels/ (or {', '.join(MASK_FOLDERS[1:])})")
    masks: dict[str, tuple[int, Path]] = {}
    for p in sorted(mask_dir.glob("*.png")):
        stem, rank = _mask_name(p)
        if stem not in masks or rank < masks[stem][0]:
            masks[stem] = (rank, p)
    labels = class_list(root, project.labels, [p for rank, p in masks.values() if rank < len(SUFFIXES)])
    report = source.report
    images = {p.stem: p for p in find_images(image_dir)}
    for stem in sorted(set(masks) - set(images)):
        report.problem(f"{masks[stem][1]}: no image {stem}.* in {image_dir}")
    items = [Incoming(images[s], reader=lambda shape, m=masks[s]: _read(m, shape, labels))
             for s in sorted(set(masks) & set(images))]
    return store(project, items, labels, source, progress)


def class_list(folder: Path, project_labels: LabelSet, id_files: list[Path]) -> LabelSet:
    """The classes of a folder's class-id files: its classes.json / classes.txt, else the project's own
    (the ids mean what they mean in the project, as in the sample project's ground_truth/), with
    `class_N` added for ids past the project's classes."""
    for name in ("classes.json", "classes.txt"):
        if (folder / name).is_file():
            return LabelSet.from_file(folder / name)
    top = _highest_id(id_files)
    if top < len(project_labels):
        return project_labels
    more = range(len(project_labels), top + 1)
    return LabelSet(project_labels.names + tuple(f"class_{i}" for i in more),
                    tuple(project_labels.colors) + tuple(VOC_COLORMAP[i % 255] for i in more),
                    project_labels.ignore_index)


def _highest_id(paths: list[Path]) -> int:
    """The highest class id in the class-id files (their ignore value aside), when no class list says
    how many classes there are."""
    top = 0
    for p in paths:
        try:
            values = read_mask(p)
        except ValueError:
            continue  # reported with its image on import; one bad file must not stop the import
        top = max(top, int(values[values != IGNORE_INDEX].max(initial=0)))
    return top
