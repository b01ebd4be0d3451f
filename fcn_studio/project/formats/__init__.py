"""Dataset formats in and out: Pascal VOC, COCO, Cityscapes-style mask folders, labelme."""

from __future__ import annotations

import json
from pathlib import Path

from fcn_studio.project.formats.coco import export_coco, import_coco
from fcn_studio.project.formats.common import ExportOptions, FormatError, ImportReport, Progress, UnknownLayout
from fcn_studio.project.formats.labelme import export_labelme, import_labelme
from fcn_studio.project.formats.masks import MASK_FOLDERS, export_masks, import_masks
from fcn_studio.project.formats.matching import import_matched, looks_matched
from fcn_studio.project.formats.voc import export_voc, import_voc
from fcn_studio.project.project import Project

EXPORTERS = {"voc": export_voc, "coco": export_coco, "masks": export_masks, "labelme": export_labelme}
IMPORTERS = {"voc": import_voc, "coco": import_coco, "masks": import_masks, "labelme": import_labelme,
             "matched": import_matched}
FORMATS = tuple(EXPORTERS)
IMPORT_FORMATS = tuple(IMPORTERS)

__all__ = ["EXPORTERS", "FORMATS", "IMPORTERS", "IMPORT_FORMATS", "ExportOptions", "FormatError", "ImportReport",
           "UnknownLayout", "detect_format", "export_project", "import_into"]


def detect_format(source: str | Path, project: Project | None = None) -> str:
    """Recognises the layout: VOC folders, COCO annotation files, labelme JSON, image + mask folders,
    and (given the project) a folder of masks named like the project's images."""
    src = Path(source)
    if (src / "JPEGImages").is_dir() and (src / "SegmentationClass").is_dir():
        return "voc"
    if (src / "images").is_dir() and any((src / d).is_dir() for d in MASK_FOLDERS):
        return "masks"
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
    if project is not None and looks_matched(project, src):
        return "matched"
    raise UnknownLayout(f"{src}: not a dataset layout FCN Studio recognises (Pascal VOC, COCO, labelme, images/ "
                        f"beside labels/, or masks named like the project's images)")


def export_project(project: Project, fmt: str, out: str | Path, options: ExportOptions | None = None,
                   progress: Progress | None = None, **kwargs) -> int:
    if fmt not in EXPORTERS:
        raise FormatError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    return EXPORTERS[fmt](project, Path(out), options or ExportOptions(), progress, **kwargs)


def import_into(project: Project, source: str | Path, fmt: str = "auto", overwrite: bool = False,
                progress: Progress | None = None) -> ImportReport:
    fmt = detect_format(source, project) if fmt == "auto" else fmt
    if fmt not in IMPORTERS:
        raise FormatError(f"unknown format {fmt!r}; one of auto, {', '.join(IMPORT_FORMATS)}")
    return IMPORTERS[fmt](project, Path(source), overwrite, progress)
