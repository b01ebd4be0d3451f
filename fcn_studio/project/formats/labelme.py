"""labelme JSON: one file per image beside a copy of it. Export: every region, holes filled, as a
polygon (a `mask` shape where no polygon draws it exactly), in painter's order (larger first), and a
hole is a region labelled "__ignore__" (labelme's label for unlabelled pixels); drawing them in order
gives back the mask exactly. Import: every shape type labelme has, drawn as labelme draws it, in file
order over unlabelled pixels; a shape that cannot be drawn is reported with its file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from fcn_studio.core.labels import LabelSet
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
from fcn_studio.project.formats.contours import layers
from fcn_studio.project.formats.labelme_shapes import (
    ShapeError,
    mask_shape_data,
    mask_shape_pixels,
    polygon_points,
    shape_to_mask,
)
from fcn_studio.project.project import Project

IGNORE_LABEL = "__ignore__"
LABELME_VERSION = "5.5.0"


def mask_to_shapes(mask: np.ndarray, labels: LabelSet) -> list[dict]:
    """labelme shapes that, drawn in order over unlabelled pixels, give `mask` back exactly (values
    outside the label set count as unlabelled)."""
    ignore = labels.ignore_index
    mask = np.where(mask < len(labels), mask, ignore)
    shapes = []
    for layer in layers(mask, ignore):
        label = IGNORE_LABEL if layer.value == ignore else labels.names[layer.value]
        points = polygon_points(layer.fill)
        shape = {"label": label, "points": [[x + layer.x, y + layer.y] for x, y in points or []],
                 "group_id": None, "description": "", "shape_type": "polygon", "flags": {}, "mask": None}
        if points is None:
            h, w = layer.fill.shape
            shape.update(points=[[float(layer.x), float(layer.y)], [float(layer.x + w - 1), float(layer.y + h - 1)]],
                         shape_type="mask", mask=mask_shape_data(layer.fill))
        shapes.append(shape)
    return shapes


def shapes_to_mask(size: tuple[int, int], shapes: list[dict], classes: dict[str, int], ignore: int,
                   problem) -> np.ndarray:
    """Draws the shapes in file order, later over earlier, as labelme's shapes_to_label does; each
    shape it cannot draw goes to `problem(text)` and is left out."""
    h, w = size
    mask = np.full(size, ignore, np.uint8)
    for k, s in enumerate(shapes):
        if not isinstance(s, dict) or s.get("label") not in classes:
            problem(f"shape {k + 1} left out: it has no label")
            continue
        name = f"shape {k + 1} ({s['label']!r}, {s.get('shape_type') or 'polygon'})"
        try:
            points = s.get("points") or []
            if s.get("shape_type") == "mask":
                drawn, clipped = mask_shape_pixels(size, points, s.get("mask"))
            else:
                drawn = shape_to_mask(size, points, s.get("shape_type"))
                pts = np.asarray(points, float).reshape(-1, 2)
                clipped = bool(pts.size) and bool(pts.min() < 0 or (pts[:, 0] > w).any() or (pts[:, 1] > h).any())
        except (ShapeError, ValueError, TypeError) as exc:
            problem(f"{name} left out: {exc}")
            continue
        if clipped:
            problem(f"{name} has points outside the image (clipped)")
        mask[drawn] = classes[s["label"]]
    return mask


def export_labelme(project: Project, out: Path, options: ExportOptions, progress: Progress | None = None) -> int:
    def write_item(tmp: Path, _index: int, it: ExportItem, mask: np.ndarray, labels: LabelSet) -> None:
        image_name = f"{it.name}{it.image.suffix.lower()}"
        place_image(it.image, tmp / image_name, options.link)
        doc = {"version": LABELME_VERSION, "flags": {}, "shapes": mask_to_shapes(mask, labels),
               "imagePath": image_name, "imageData": None, "imageHeight": int(mask.shape[0]),
               "imageWidth": int(mask.shape[1])}
        (tmp / f"{it.name}.json").write_text(json.dumps(doc))

    def finish(tmp: Path, _items: list[ExportItem], labels: LabelSet) -> None:
        (tmp / "labels.txt").write_text("\n".join([IGNORE_LABEL, *labels.names]) + "\n")

    return run_export(project, out, options, progress, write_item, finish)


def import_labelme(project: Project, root: Path, overwrite: bool = False,
                   progress: Progress | None = None) -> ImportReport:
    root = Path(root)
    files = [root] if root.is_file() else sorted(root.rglob("*.json"))
    if not files:
        raise FormatError(f"{root}: no labelme .json files")
    report = ImportReport()
    docs = []
    for f in files:
        try:
            doc = json.loads(f.read_text(encoding="utf-8"))
            if not isinstance(doc, dict) or not isinstance(doc.get("shapes"), list) or "imagePath" not in doc:
                raise ValueError("no 'shapes' list or 'imagePath'")
            docs.append((f, doc))
        except (json.JSONDecodeError, ValueError, UnicodeDecodeError) as exc:
            report.problem(f"{f}: malformed labelme JSON ({exc})")
    names: list[str] = []
    order = root / "labels.txt"
    if order.is_file():  # labelme's own convention for the class order
        names = [n.strip() for n in order.read_text().splitlines() if n.strip() and n.strip() != IGNORE_LABEL
                 and not n.startswith("_background_")]
    for _, doc in docs:
        for s in doc["shapes"]:
            label = s.get("label") if isinstance(s, dict) else None
            if isinstance(label, str) and label not in names and label != IGNORE_LABEL:
                names.append(label)
    labels = LabelSet(tuple(names)) if names else LabelSet(("background",))
    classes = {IGNORE_LABEL: labels.ignore_index, **{n: i for i, n in enumerate(names)}}
    items = []
    for f, doc in docs:
        def read(shape, doc=doc, f=f):
            return shapes_to_mask(shape, doc["shapes"], classes, labels.ignore_index,
                                  lambda text, f=f: report.problem(f"{f}: {text}"))

        items.append(Incoming((f.parent / doc["imagePath"]).resolve(), reader=read))
    return store(project, items, labels, overwrite, report, progress)
