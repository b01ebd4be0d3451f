"""What every format shares. Export: which images, the project's own train/val split (the one
training and evaluation use), copy or link, a class remapping, and an output folder that appears
whole or not at all (built beside, renamed at the end). Import: classes matched by name (new ones
added, colours kept), masks stored as human labels (reviewed) through project.save_mask only,
existing human masks kept unless `overwrite`, and a report naming each problem."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fcn_studio.core.atomic import FolderNotEmpty, atomic_dir
from fcn_studio.core.labels import VOC_COLORMAP, LabelSet
from fcn_studio.core.progress import Progress
from fcn_studio.core.splits import assign_sides
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


@dataclass
class ExportItem:
    record: ImageRecord
    image: Path
    name: str  # unique file stem in the export
    split: str  # train | val


@dataclass
class ImportReport:
    imported: int = 0
    skipped_existing: int = 0
    added_classes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    same_content: int = 0  # incoming images that are byte-for-byte copies of project images: not added again
    touched: list[int] = field(default_factory=list)  # ids of the images whose mask the import wrote

    def problem(self, text: str) -> None:
        self.problems.append(text)


def export_items(project: Project, options: ExportOptions) -> list[ExportItem]:
    if options.which not in WHICH:
        raise FormatError(f"which images: one of {', '.join(WHICH)}, not {options.which!r}")
    records = [r for r in project.images() if r.state in WHICH[options.which] and labels_file(project, r).is_file()]
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
    items = export_items(project, options)
    try:
        with atomic_dir(out, options.replace) as tmp:
            for index, item in enumerate(each(items, progress)):
                mask, _human = project.load_shown_mask(item.record.id)
                write_item(tmp, index, item, lut[mask], labels)
            if finish is not None:
                finish(tmp, items, labels)
    except FolderNotEmpty as exc:
        raise FormatError(f"{exc}; choose another folder or ask to replace it") from None
    return len(items)


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
    shutil.copy2(src, dst)


# -- import ---------------------------------------------------------------------------------------
@dataclass
class Incoming:
    """One image and its mask, in the source's own class indices."""

    image: Path
    mask: np.ndarray | None = None
    reader: Callable[[tuple[int, int]], np.ndarray] | None = None  # lazily, given the image (H, W)


def merge_labels(project: Project, source: LabelSet, report: ImportReport) -> np.ndarray:
    """Matches the source's classes to the project's by name, adds the new ones (their colours kept)
    and returns the look-up table from source indices to project indices (the source's ignore index
    and unknown indices -> the project's ignore index)."""
    names, colors = list(project.labels.names), list(project.labels.colors)
    lut = np.full(256, project.labels.ignore_index, np.uint8)
    for i, (name, color) in enumerate(zip(source.names, source.colors, strict=True)):
        if name not in names:
            names.append(name)
            colors.append(tuple(color) if color else VOC_COLORMAP[len(names) - 1])
            report.added_classes.append(name)
        lut[i] = names.index(name)
    if report.added_classes:
        project.change_labels(LabelSet(tuple(names), tuple(colors), project.labels.ignore_index))
    return lut


def store(project: Project, items: list[Incoming], source_labels: LabelSet, overwrite: bool,
          report: ImportReport, progress: Progress | None = None) -> ImportReport:
    """Adds the images in one transaction, then checks and stores each mask; one bad item is
    reported and the rest go on."""
    from fcn_studio.core.image_io import ImageLoadError, image_size  # noqa: PLC0415

    lut = merge_labels(project, source_labels, report)
    n = len(source_labels)
    present = []
    for item in items:
        if item.image.is_file():
            present.append(item)
        else:
            report.problem(f"{item.image}: the image is missing")
    before = project.images()
    copies = same_content(project, before, [item.image for item in present])
    report.same_content = len(copies)
    project.add_images([item.image for item in present if item.image not in copies])
    by_path = {project.image_path(r): r for r in project.images()}
    report_lookalikes(project, before, [i.image for i in present if i.image not in copies], by_path, report)
    for k, item in enumerate(present):
        if progress:
            progress(k, len(present))
        rec = copies.get(item.image) or by_path.get(Path(os.path.normpath(item.image.resolve())))
        if rec is None:
            report.problem(f"{item.image}: could not be added to the project")
            continue
        if rec.state in HUMAN_STATES and not overwrite:
            report.skipped_existing += 1
            continue
        try:
            w, h = image_size(item.image)
            mask = item.mask if item.mask is not None else item.reader((h, w))
        except (ImageLoadError, ValueError, OSError) as exc:
            report.problem(f"{item.image}: {exc}" if str(item.image) not in str(exc) else str(exc))
            continue
        if mask.shape != (h, w):
            report.problem(f"{item.image}: the mask is {mask.shape[1]}x{mask.shape[0]} but the image is {w}x{h}")
            continue
        bad = np.unique(mask[(mask >= n) & (mask != source_labels.ignore_index)])
        if bad.size:
            report.problem(f"{item.image}: unknown class indices {bad.tolist()[:8]} (made unlabelled)")
        project.save_mask(rec.id, lut[mask], "reviewed")
        report.imported += 1
        report.touched.append(rec.id)
    if progress:
        progress(len(present), len(present))
    return report


def _digest(path: Path) -> bytes:
    h = hashlib.blake2b(digest_size=20)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.digest()


def same_content(project: Project, records: list[ImageRecord], incoming: list[Path]) -> dict[Path, ImageRecord]:
    """Incoming images that are byte-for-byte copies of a project image kept elsewhere (the images of
    an export of this project, say): they get the masks, instead of coming in again as new images.
    Only files of equal size are read and hashed, so a large project costs a stat per image."""
    known = {project.image_path(r): r for r in records}
    by_size: dict[int, list[Path]] = {}
    for path in known:
        try:
            by_size.setdefault(path.stat().st_size, []).append(path)
        except OSError:
            continue  # a missing image matches nothing
    digests: dict[Path, bytes] = {}
    out = {}
    for image in incoming:
        resolved = Path(os.path.normpath(image.resolve()))
        if resolved in known:
            continue
        try:
            candidates = by_size.get(image.stat().st_size, [])
            if not candidates:
                continue
            mine = _digest(image)
            for path in candidates:
                if path not in digests:
                    digests[path] = _digest(path)
                if digests[path] == mine:
                    out[image] = known[path]
                    break
        except OSError:
            continue
    return out


def report_lookalikes(project: Project, before: list[ImageRecord], added: list[Path],
                      by_path: dict[Path, ImageRecord], report: ImportReport) -> None:
    """New images with the name and pixel size of one the project had (a re-encoded copy, as a VOC
    export makes of a PNG) are added, and said to look like it: only a person can tell."""
    from fcn_studio.core.image_io import ImageLoadError, image_size  # noqa: PLC0415

    by_stem: dict[str, list[ImageRecord]] = {}
    for r in before:
        by_stem.setdefault(Path(r.path).stem, []).append(r)
    had = {r.id for r in before}
    for image in added:
        rec = by_path.get(Path(os.path.normpath(image.resolve())))
        if rec is None or rec.id in had:
            continue  # not added, or it was there already
        for old in by_stem.get(image.stem, []):
            try:
                if image_size(image) == image_size(project.image_path(old)):
                    report.problem(f"{image}: added as a new image, but it looks like {old.path} (same name and "
                                   f"size, other bytes); remove one if they are the same picture")
                    break
            except (ImageLoadError, OSError, ValueError):
                continue
