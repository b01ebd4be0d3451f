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
from fcn_studio.project.project import Project


def _rle(binary: np.ndarray) -> dict:
    rle = mask_utils.encode(np.asfortranarray(binary.astype(np.uint8)))
    rle["counts"] = rle["counts"].decode("ascii")
    return rle


def corner_outlines(binary: np.ndarray) -> list[list[tuple[int, int]]]:
    """Outlines along pixel edges (vertices at pixel corners, as COCO's rasteriser reads polygons):
    each unit edge between an inside and an outside pixel, directed with the inside on its right,
    chained into loops; straight runs are merged."""
    b = np.pad(binary.astype(bool), 1)
    nxt: dict[tuple[int, int], list[tuple[int, int]]] = {}
    # horizontal edges between rows y-1 and y, vertical edges between columns x-1 and x (padded coords)
    ys, xs = np.nonzero(b[1:, :] & ~b[:-1, :])  # inside below: edge goes left -> right
    for y, x in zip(ys + 1, xs, strict=True):
        nxt.setdefault((x, y), []).append((x + 1, y))
    ys, xs = np.nonzero(~b[1:, :] & b[:-1, :])  # inside above: right -> left
    for y, x in zip(ys + 1, xs, strict=True):
        nxt.setdefault((x + 1, y), []).append((x, y))
    ys, xs = np.nonzero(b[:, 1:] & ~b[:, :-1])  # inside to the right: bottom -> top
    for y, x in zip(ys, xs + 1, strict=True):
        nxt.setdefault((x, y + 1), []).append((x, y))
    ys, xs = np.nonzero(~b[:, 1:] & b[:, :-1])  # inside to the left: top -> bottom
    for y, x in zip(ys, xs + 1, strict=True):
        nxt.setdefault((x, y), []).append((x, y + 1))
    loops = []
    while nxt:
        start = next(iter(nxt))
        loop, point = [start], start
        while True:
            targets = nxt[point]
            step = targets.pop()
            if not targets:
                del nxt[point]
            if step == start:
                break
            loop.append(step)
            point = step
        merged = [p for i, p in enumerate(loop)
                  if not (loop[i - 1][0] == p[0] == loop[(i + 1) % len(loop)][0]
                          or loop[i - 1][1] == p[1] == loop[(i + 1) % len(loop)][1])]
        loops.append([(x - 1, y - 1) for x, y in merged])  # back to unpadded coordinates
    return loops


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


def _decode(seg, h: int, w: int) -> np.ndarray:
    if isinstance(seg, list):
        rle = mask_utils.merge(mask_utils.frPyObjects(seg, h, w))
    elif isinstance(seg, dict) and isinstance(seg.get("counts"), list):
        rle = mask_utils.frPyObjects(seg, h, w)
    else:
        rle = dict(seg)
        if isinstance(rle.get("counts"), str):
            rle["counts"] = rle["counts"].encode("ascii")
    return mask_utils.decode(rle).astype(bool)


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
            mask = np.full((h, w), 255, np.uint8)
            for ann in anns:
                if ann.get("category_id") not in index:
                    report.problem(f"{name}: annotation {ann.get('id')} has unknown category {ann.get('category_id')}")
                    continue
                seg = ann.get("segmentation")
                if isinstance(seg, list) and any(
                        min(p[0::2]) < 0 or max(p[0::2]) > w or min(p[1::2]) < 0 or max(p[1::2]) > h for p in seg):
                    report.problem(f"{name}: annotation {ann.get('id')} has points outside the image (clipped)")
                mask[_decode(seg, h, w)] = index[ann["category_id"]]
            return mask

        items.append(Incoming(folder / img["file_name"], reader=read))
    return store(project, items, labels, overwrite, report, progress)
