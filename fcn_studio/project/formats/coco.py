"""COCO for semantic ("stuff") segmentation: images/ beside annotations.json with one annotation per
class region (or per connected component). RLE by default, encoded by pycocotools, so it decodes to
exactly the exported mask; in polygon mode each polygon is checked by decoding it with pycocotools and
a region it would not reproduce (holes, thin parts) stays RLE. Category ids are class index + 1."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
from pycocotools import mask as mask_utils

from fcn_studio.core.labels import VOC_COLORMAP, LabelSet
from fcn_studio.project.formats.common import (
    ExportItem,
    ExportOptions,
    FormatError,
    ImportReport,
    Incoming,
    Progress,
    place_image,
    run_export,
    store,
)
from fcn_studio.project.formats.contours import corner_outlines
from fcn_studio.project.project import Project


def _rle(binary: np.ndarray) -> dict:
    rle = mask_utils.encode(np.asfortranarray(binary.astype(np.uint8)))
    rle["counts"] = rle["counts"].decode("ascii")
    return rle


def _polygons_or_rle(binary: np.ndarray) -> list | dict:
    """Polygons when they decode to exactly this region in pycocotools (no holes, no pinches),
    else RLE: the export never loses a pixel."""
    loops = corner_outlines(binary)
    polys = [[float(v) for p in loop for v in p] for loop in loops if len(loop) >= 3]
    if polys and len(polys) == len(loops):
        h, w = binary.shape
        decoded = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(polys, h, w)))
        if np.array_equal(decoded.astype(bool), binary):
            return polys
    return _rle(binary)


def annotations_for(mask: np.ndarray, image_id: int, num_classes: int, per_component: bool, polygons: bool,
                    next_id: int) -> list[dict]:
    out = []
    for cls in np.unique(mask):
        cls = int(cls)
        if cls >= num_classes:
            continue
        region = mask == cls
        parts = [region]
        if per_component:
            n, comp = cv2.connectedComponents(region.astype(np.uint8), connectivity=8)
            parts = [comp == i for i in range(1, n)]
        for part in parts:
            seg = _polygons_or_rle(part) if polygons else _rle(part)
            ys, xs = np.nonzero(part)
            bbox = [int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)]
            out.append({"id": next_id + len(out), "image_id": image_id, "category_id": cls + 1, "segmentation": seg,
                        "area": int(part.sum()), "bbox": bbox, "iscrowd": 0})
    return out


def export_coco(project: Project, out: Path, options: ExportOptions, progress: Progress | None = None,
                per_component: bool = False, polygons: bool = False) -> int:
    doc = {"info": {"description": f"exported by FCN Studio from {project.name}", "version": "1.0"},
           "licenses": [], "images": [], "annotations": [], "categories": []}

    def write_item(tmp: Path, index: int, it: ExportItem, mask: np.ndarray, labels: LabelSet) -> None:
        file_name = f"{it.name}{it.image.suffix.lower()}"
        place_image(it.image, tmp / "images" / file_name, options.link)
        doc["images"].append({"id": index + 1, "file_name": file_name, "height": int(mask.shape[0]),
                              "width": int(mask.shape[1]), "split": it.split})
        doc["annotations"] += annotations_for(mask, index + 1, len(labels), per_component, polygons,
                                              len(doc["annotations"]) + 1)

    def finish(tmp: Path, _items: list[ExportItem], labels: LabelSet) -> None:
        doc["categories"] = [{"id": i + 1, "name": n, "supercategory": "", "color": list(c), "isthing": 0}
                             for i, (n, c) in enumerate(zip(labels.names, labels.colors, strict=True))]
        (tmp / "annotations.json").write_text(json.dumps(doc))

    return run_export(project, out, options, progress, write_item, finish)


def decode_segmentation(seg, h: int, w: int, problem) -> np.ndarray:
    """One annotation's pixels (H x W bool), whichever way COCO stores them: polygons (iscrowd=0),
    uncompressed RLE with counts as a list, or compressed RLE (iscrowd=1). A polygon with fewer than
    three points is left out and reported (pycocotools would read a 4-number one as a box); anything
    else unreadable raises ValueError."""
    if isinstance(seg, list):
        polygons = []
        for poly in seg:
            if not isinstance(poly, list) or len(poly) < 6 or len(poly) % 2:
                problem(f"a polygon with {len(poly) if isinstance(poly, list) else 'no'} coordinates "
                        f"(not x, y pairs of 3 or more points) left out")
            else:
                polygons.append([float(v) for v in poly])
        if not polygons:
            return np.zeros((h, w), bool)
        rle = mask_utils.merge(mask_utils.frPyObjects(polygons, h, w))
    elif isinstance(seg, dict) and "counts" in seg and "size" in seg:
        if [int(v) for v in seg["size"]] != [h, w]:
            raise ValueError(f"its RLE is {seg['size'][1]}x{seg['size'][0]} but the image is {w}x{h}")
        if isinstance(seg["counts"], list):
            rle = mask_utils.frPyObjects(seg, h, w)
        else:
            rle = dict(seg)
            if isinstance(rle["counts"], str):
                rle["counts"] = rle["counts"].encode("ascii")
    else:
        raise ValueError("its segmentation is neither polygons nor RLE")
    decoded = mask_utils.decode(rle)
    if decoded.shape != (h, w):
        raise ValueError(f"its RLE decodes to {decoded.shape[1]}x{decoded.shape[0]}, not {w}x{h}")
    return decoded.astype(bool)


def _outside(polygon, h: int, w: int) -> bool:
    if not isinstance(polygon, list) or len(polygon) < 2:
        return False
    xs, ys = polygon[0::2], polygon[1::2]
    return min(xs) < 0 or max(xs) > w or min(ys) < 0 or max(ys) > h


def find_annotation_file(root: Path) -> Path:
    root = Path(root)
    if root.is_file():
        return root
    candidates = [root / "annotations.json", *sorted((root / "annotations").glob("*.json")),
                  *sorted(root.glob("*.json"))]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise FormatError(f"{root}: no COCO annotations file (annotations.json or annotations/*.json)")


def import_coco(project: Project, root: Path, overwrite: bool = False,
                progress: Progress | None = None) -> ImportReport:
    report = ImportReport()
    path = find_annotation_file(root)
    base = path.parent.parent if path.parent.name == "annotations" else path.parent
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        categories = sorted(doc["categories"], key=lambda c: c["id"])
        images, annotations = doc["images"], doc.get("annotations", [])
    except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise FormatError(f"{path}: not a COCO file ({exc})") from exc
    index = {c["id"]: i for i, c in enumerate(categories)}
    labels = LabelSet(tuple(c["name"] for c in categories),
                      tuple(tuple(c.get("color") or VOC_COLORMAP[i]) for i, c in enumerate(categories)))
    by_image: dict[int, list[dict]] = {}
    for ann in annotations:
        by_image.setdefault(ann.get("image_id"), []).append(ann)
    items = []
    for img in images:
        folder = base / "images" if (base / "images" / img["file_name"]).exists() else base
        h, w, anns = int(img["height"]), int(img["width"]), by_image.get(img["id"], [])

        def read(shape, h=h, w=w, anns=anns, name=img["file_name"]):
            if shape != (h, w):
                raise ValueError(f"annotations.json says {w}x{h} but the image is {shape[1]}x{shape[0]}")
            mask = np.full((h, w), labels.ignore_index, np.uint8)
            for ann in anns:
                where = f"{name}: annotation {ann.get('id')}"
                if ann.get("category_id") not in index:
                    report.problem(f"{where} has unknown category {ann.get('category_id')}")
                    continue
                seg = ann.get("segmentation")
                try:
                    if isinstance(seg, list) and any(_outside(p, h, w) for p in seg):
                        report.problem(f"{where} has points outside the image (clipped)")
                    pixels = decode_segmentation(seg, h, w, lambda text, at=where: report.problem(f"{at}: {text}"))
                except (ValueError, TypeError, IndexError, KeyError) as exc:
                    report.problem(f"{where} left out: {exc}")
                    continue
                mask[pixels] = index[ann["category_id"]]
            return mask

        items.append(Incoming(folder / img["file_name"], reader=read))
    return store(project, items, labels, overwrite, report, progress)
