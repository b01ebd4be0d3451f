"""labelme JSON: one file per image beside a copy of it, polygons from the mask's contours. labelme
draws shapes in file order, so the shapes come in painter's order (largest first); a hole is a
polygon labelled "__ignore__" (labelme's label for unlabelled pixels), drawn before what lies inside
it. Drawing them in order gives back the mask exactly."""

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
from fcn_studio.project.formats.contours import IGNORE, mask_to_shapes, shapes_to_mask
from fcn_studio.project.project import Project

IGNORE_LABEL = "__ignore__"
LABELME_VERSION = "5.5.0"


def _shape_type(n: int) -> str:
    return "polygon" if n >= 3 else ("line" if n == 2 else "point")


def export_labelme(project: Project, out: Path, options: ExportOptions, progress: Progress | None = None) -> int:
    def write_item(tmp: Path, _index: int, it: ExportItem, mask: np.ndarray, labels: LabelSet) -> None:
        image_name = f"{it.name}{it.image.suffix.lower()}"
        place_image(it.image, tmp / image_name, options.link)
        shapes = [{"label": IGNORE_LABEL if cls == IGNORE else labels.names[cls],
                   "points": pts.astype(float).tolist(), "group_id": None, "description": "",
                   "shape_type": _shape_type(len(pts)), "flags": {}, "mask": None}
                  for cls, pts in mask_to_shapes(mask, len(labels))]
        doc = {"version": LABELME_VERSION, "flags": {}, "shapes": shapes, "imagePath": image_name,
               "imageData": None, "imageHeight": int(mask.shape[0]), "imageWidth": int(mask.shape[1])}
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
            if not isinstance(doc.get("shapes"), list) or "imagePath" not in doc:
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
            if s.get("label") not in names and s.get("label") not in (IGNORE_LABEL, None):
                names.append(s["label"])
    labels = LabelSet(tuple(names)) if names else LabelSet(("background",))
    items = []
    for f, doc in docs:
        def read(shape, doc=doc, f=f):
            h, w = shape
            parsed = []
            for s in doc["shapes"]:
                pts = np.asarray(s.get("points", []), float).reshape(-1, 2)
                if pts.size and (pts.min() < 0 or (pts[:, 0] > w).any() or (pts[:, 1] > h).any()):
                    report.problem(f"{f}: shape '{s.get('label')}' has points outside the image (clipped)")
                cls = IGNORE if s.get("label") == IGNORE_LABEL else names.index(s["label"])
                parsed.append((cls, np.round(pts).astype(np.int32)))
            return shapes_to_mask((h, w), parsed)

        items.append(Incoming((f.parent / doc["imagePath"]).resolve(), reader=read))
    return store(project, items, labels, overwrite, report, progress)
