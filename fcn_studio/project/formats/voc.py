"""Pascal VOC segmentation layout: JPEGImages/*.jpg, SegmentationClass/*.png (palette, 255 ignore),
ImageSets/Segmentation/{train,val,trainval}.txt and a CVAT-style labelmap.txt. Readers such as
torchvision's VOCSegmentation expect `.jpg`, so other images (and JPEGs whose EXIF rotation would put
them out of step with their masks) are re-encoded at quality 95; plain JPEGs are copied or linked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from fcn_studio.core.image_io import find_images, load_image
from fcn_studio.core.labels import LabelSet
from fcn_studio.core.mask_io import read_mask, write_mask
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


def labelmap_text(labels: LabelSet) -> str:
    lines = ["# label:color_rgb:parts:actions"]
    lines += [f"{n}:{r},{g},{b}::" for n, (r, g, b) in zip(labels.names, labels.colors, strict=True)]
    return "\n".join(lines) + "\n"


def _needs_reencoding(path: Path) -> bool:
    if path.suffix.lower() not in (".jpg", ".jpeg"):
        return True
    with Image.open(path) as img:
        return img.getexif().get(0x0112, 1) != 1


def export_voc(project: Project, out: Path, options: ExportOptions, progress: Progress | None = None) -> int:
    def write_item(tmp: Path, _index: int, it: ExportItem, mask: np.ndarray, labels: LabelSet) -> None:
        target = tmp / "JPEGImages" / f"{it.name}.jpg"
        if _needs_reencoding(it.image):
            target.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(load_image(it.image)).save(target, quality=95)
        else:
            place_image(it.image, target, options.link)
        write_mask(tmp / "SegmentationClass" / f"{it.name}.png", mask, labels)

    def finish(tmp: Path, items: list[ExportItem], labels: LabelSet) -> None:
        sets = tmp / "ImageSets" / "Segmentation"
        sets.mkdir(parents=True, exist_ok=True)
        for split in ("train", "val"):
            (sets / f"{split}.txt").write_text(split_list(items, split))
        (sets / "trainval.txt").write_text(split_list(items))
        (tmp / "labelmap.txt").write_text(labelmap_text(labels))

    return run_export(project, out, options, progress, write_item, finish)


def scan_voc(root: Path) -> tuple[LabelSet, list[tuple[str, Path, Path]]]:
    """The layout's classes and its (stem, image, mask) pairs (images without a mask are left out)."""
    root = Path(root)
    if not (root / "JPEGImages").is_dir() or not (root / "SegmentationClass").is_dir():
        raise FormatError(f"{root}: not a Pascal VOC folder (JPEGImages/ and SegmentationClass/)")
    labelmap = root / "labelmap.txt"
    labels = LabelSet.from_file(labelmap) if labelmap.is_file() else LabelSet.voc()
    images = {p.stem: p for p in find_images(root / "JPEGImages")}
    pairs = [(stem, img, root / "SegmentationClass" / f"{stem}.png") for stem, img in sorted(images.items())
             if (root / "SegmentationClass" / f"{stem}.png").is_file()]
    return labels, pairs


def import_voc(project: Project, root: Path, source: Source,
               progress: Progress | None = None) -> ImportReport:
    report = source.report
    labels, pairs = scan_voc(root)
    images = {stem for stem, _, _ in pairs}
    for mask in sorted((Path(root) / "SegmentationClass").glob("*.png")):
        if mask.stem not in images:
            report.problem(f"{mask}: no image {mask.stem}.* in JPEGImages/")
    items = [Incoming(img, reader=lambda shape, m=mask: read_mask(m, shape=shape, labels=labels))
             for _, img, mask in pairs]
    return store(project, items, labels, source, progress)
