"""Dataset formats in and out: Pascal VOC, COCO, Cityscapes, image + mask folders, labelme."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from fcn_studio.project.formats.cityscapes import export_cityscapes, import_cityscapes, is_cityscapes
from fcn_studio.project.formats.coco import EXPORT_NOTE as COCO_EXPORT_NOTE
from fcn_studio.project.formats.coco import export_coco, import_coco
from fcn_studio.project.formats.common import ExportOptions, FormatError, Progress, UnknownLayout
from fcn_studio.project.formats.geojson import export_geojson
from fcn_studio.project.formats.importing import ImportOptions, ImportReport, OutsidePaths, Source
from fcn_studio.project.formats.label_tiff import export_label_tiffs
from fcn_studio.project.formats.labelme import export_labelme, import_labelme
from fcn_studio.project.formats.masks import MASK_FOLDERS, export_masks, import_masks
from fcn_studio.project.formats.matching import import_matched, looks_matched
from fcn_studio.project.formats.voc import export_voc, import_voc
from fcn_studio.project.project import Project

EXPORTERS = {"voc": export_voc, "coco": export_coco, "masks": export_masks, "labelme": export_labelme,
             "cityscapes": export_cityscapes, "geojson": export_geojson, "ome-tiff": export_label_tiffs}
IMPORTERS = {"voc": import_voc, "coco": import_coco, "masks": import_masks, "labelme": import_labelme,
             "cityscapes": import_cityscapes, "matched": import_matched}
FORMATS = tuple(EXPORTERS)
TILED_FORMATS = ("voc", "coco", "masks")  # what --tiles N cuts (formats.tiles)
IMPORT_FORMATS = tuple(IMPORTERS)
EXPORT_NOTES = {"coco": COCO_EXPORT_NOTE}  # what an export of the format cannot keep, said with its report

__all__ = ["EXPORTERS", "EXPORT_NOTES", "FORMATS", "IMPORTERS", "IMPORT_FORMATS", "ExportOptions", "FormatError",
           "ImportOptions", "ImportReport", "OutsidePaths", "UnknownLayout", "detect_format", "export_project",
           "import_into"]


def detect_format(source: str | Path, project: Project | None = None) -> str:
    """Recognises the layout: VOC folders, Cityscapes folders, COCO annotation files (COCO's own
    annotations/instances_*.json too), labelme JSON, image + mask folders, and (given the project) a
    folder of masks named like the project's images."""
    src = Path(source)
    if (src / "JPEGImages").is_dir() and (src / "SegmentationClass").is_dir():
        return "voc"
    if is_cityscapes(src):
        return "cityscapes"
    candidates = [src] if src.is_file() else [src / "annotations.json", *sorted((src / "annotations").glob("*.json")),
                                              *sorted(src.glob("*.json"))[:5]]
    for path in candidates:
        if path.is_file() and path.suffix == ".json":
            try:
                head = json.loads(path.read_text(encoding="utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError, OSError):
                continue
            if isinstance(head, dict) and {"images", "annotations", "categories"} <= set(head):
                return "coco"
            if isinstance(head, dict) and "shapes" in head:
                return "labelme"
    if (src / "images").is_dir() and any((src / d).is_dir() for d in MASK_FOLDERS):
        return "masks"
    if project is not None and looks_matched(project, src):
        return "matched"
    raise UnknownLayout(f"{src}: not a dataset layout FCN Studio recognises (Pascal VOC, Cityscapes, COCO, labelme, "
                        f"images/ beside labels/, or masks named like the project's images)")


def export_project(project: Project, fmt: str, out: str | Path, options: ExportOptions | None = None,
                   progress: Progress | None = None, **kwargs) -> int:
    if fmt not in EXPORTERS:
        raise FormatError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    options = options or ExportOptions()
    if options.tiles is not None:
        if fmt not in TILED_FORMATS:
            raise FormatError(f"--tiles cuts images for {', '.join(TILED_FORMATS)}, not {fmt}")
        options = dataclasses.replace(options, link=False)  # tiles are new files: copied, never linked
    return EXPORTERS[fmt](project, Path(out), options, progress, **kwargs)


def import_into(project: Project, source: str | Path, fmt: str = "auto", overwrite: bool = False,
                progress: Progress | None = None, *, outside: str = "skip", images: str | Path | None = None,
                ) -> ImportReport:
    """Imports a dataset in one step (see formats.importing). `outside`: what to do with image paths in
    the dataset's files that lead outside it: "skip" them (each reported), "follow" them, or "ask"
    (OutsidePaths is raised, listing them, before anything changes). `images`: the images' folder, for
    a layout whose files do not say where they are."""
    fmt = detect_format(source, project) if fmt == "auto" else fmt
    if fmt not in IMPORTERS:
        raise FormatError(f"unknown format {fmt!r}; one of auto, {', '.join(IMPORT_FORMATS)}")
    options = ImportOptions(overwrite, outside, Path(images) if images is not None else None)
    return IMPORTERS[fmt](project, Path(source), Source(Path(source), options), progress)
