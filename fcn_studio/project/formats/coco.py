"""COCO for semantic ("stuff") segmentation: images/ beside annotations.json with one annotation per
class region (or per connected component). RLE by default, encoded by pycocotools, so it decodes to
exactly the exported mask; in polygon mode each polygon is checked by decoding it with pycocotools and
a region it would not reproduce (holes, thin parts) stays RLE. Category ids are class index + 1. A
semantic mask has no crowd flag: every exported region has `iscrowd: 0` (EXPORT_NOTE says so).

Import reads COCO's own layouts too: `annotations/instances_<split>.json` with the photos in
`<split>/` (as the COCO team ships them), `file_name`s with folders (labelme2coco's
`JPEGImages/x.jpg`), or any folder named with `--images`. Annotations are painted in file order;
crowd regions (iscrowd=1) keep their class. labelme2coco's `_background_` category stands for every
pixel no annotation covers, as labelme means it."""

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
    Progress,
    place_image,
    run_export,
)
from fcn_studio.project.formats.contours import corner_outlines
from fcn_studio.project.formats.importing import ImportReport, Incoming, Source, store
from fcn_studio.project.project import Project

EXPORT_NOTE = ("every COCO annotation is written with iscrowd 0: a semantic mask has no crowd flag, so regions "
               "imported from crowd annotations (iscrowd 1) come out as ordinary ones")
SPLIT_PREFIXES = ("instances_", "stuff_", "panoptic_", "person_keypoints_")


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
    """The annotations file: `root` itself, annotations.json, annotations/instances_*.json (COCO's own
    layout; several of them must be named), annotations/*.json or *.json."""
    root = Path(root)
    if root.is_file():
        return root
    folder = root if root.name == "annotations" and not (root / "annotations").is_dir() else root / "annotations"
    if (root / "annotations.json").is_file():
        return root / "annotations.json"
    instances = sorted(folder.glob("instances_*.json"))
    if len(instances) > 1:
        raise FormatError(f"{folder}: {len(instances)} annotation files ({', '.join(p.name for p in instances)}); "
                          f"name the one to import")
    for candidate in [*instances, *sorted(folder.glob("*.json")), *sorted(root.glob("*.json"))]:
        if candidate.is_file():
            return candidate
    raise FormatError(f"{root}: no COCO annotations file (annotations.json or annotations/*.json)")


def image_folders(path: Path, base: Path, images: Path | None) -> list[Path]:
    """Where a COCO file's images may be, in order: the folder the person named, images/, the split's
    own folder (`val2017/` for instances_val2017.json, beside annotations/ or under images/), the
    dataset's folder and the file's."""
    split = next((path.stem[len(p):] for p in SPLIT_PREFIXES if path.stem.startswith(p)), None)
    folders = [images] if images is not None else []
    folders += [base / "images"]
    if split:
        folders += [base / split, base / "images" / split]
    folders += [base, path.parent]
    return list(dict.fromkeys(Path(f) for f in folders))


def _find_image(name: str, folders: list[Path], source: Source, where: str) -> Path | None:
    """The file a `file_name` names: looked up in each folder (also by its bare name, for one with
    folders); a name that leads outside the dataset is followed only as the person allows."""
    written = name.replace("\\", "/")
    inside = [f / written for f in folders if source.inside(f / written)]
    if not inside:
        return source.path(folders[0], written, f"{where} file_name")
    bare = [f / Path(written).name for f in folders] if "/" in written else []
    for candidate in [*inside, *bare]:
        if candidate.is_file():
            return candidate
    looked = ", ".join(str(f) for f in folders)
    source.report.problem(f"{where}: the image {written} is missing (looked in {looked}; --images DIR names "
                          f"the folder it is in)")
    return None


def import_coco(project: Project, root: Path, source: Source,
                progress: Progress | None = None) -> ImportReport:
    report = source.report
    path = find_annotation_file(root)
    base = path.parent.parent if path.parent.name == "annotations" else path.parent
    source.widen(base)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        categories = sorted(doc["categories"], key=lambda c: c["id"])
        images, annotations = doc["images"], doc.get("annotations", [])
    except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise FormatError(f"{path}: not a COCO file ({exc})") from exc
    index = {c["id"]: i for i, c in enumerate(categories)}
    labels = LabelSet(tuple(c["name"] for c in categories),
                      tuple(tuple(c.get("color") or VOC_COLORMAP[i]) for i, c in enumerate(categories)))
    fill = labels.names.index("_background_") if "_background_" in labels.names else labels.ignore_index
    if fill != labels.ignore_index:
        report.note(f"{path.name}: pixels no annotation covers are '_background_' (a labelme2coco category), as "
                    f"labelme means them")
    by_image: dict[int, list[dict]] = {}
    for ann in annotations:
        by_image.setdefault(ann.get("image_id"), []).append(ann)
    folders = image_folders(path, base, source.options.images)
    crowds = 0
    items = []
    for img in images:
        h, w, anns = int(img["height"]), int(img["width"]), by_image.get(img["id"], [])
        crowds += sum(1 for a in anns if a.get("iscrowd"))

        def read(shape, h=h, w=w, anns=anns, name=img["file_name"]):
            if shape != (h, w):
                raise ValueError(f"{path.name} says {w}x{h} but the image is {shape[1]}x{shape[0]}")
            mask = np.full((h, w), fill, np.uint8)
            for ann in anns:
                where = f"{name}: annotation {ann.get('id')}"
                if ann.get("category_id") not in index:
                    report.problem(f"{where} has unknown category {ann.get('category_id')}")
                    continue
                seg = ann.get("segmentation")
                try:
                    if isinstance(seg, list) and any(_outside(p, h, w) for p in seg):
                        report.note(f"{where} reaches past the image's edge; clipped there")
                    pixels = decode_segmentation(seg, h, w, lambda text, at=where: report.problem(f"{at}: {text}"))
                except (ValueError, TypeError, IndexError, KeyError) as exc:
                    report.problem(f"{where} left out: {exc}")
                    continue
                mask[pixels] = index[ann["category_id"]]
            return mask

        image = _find_image(str(img["file_name"]), folders, source, f"{path.name}: image {img.get('id')}")
        if image is not None:
            items.append(Incoming(image, reader=read))
    if crowds:
        report.note(f"{crowds} crowd region(s) (iscrowd 1) imported with their class; a semantic mask keeps no "
                    f"crowd flag, so an export writes them with iscrowd 0")
    return store(project, items, labels, source, progress)
