"""labelme JSON: one file per image beside a copy of it, read and written as labelme itself means
them. labelme (its app, labelme2voc, labelme_json_to_dataset) gives every pixel no shape covers the
class `_background_` and every `__ignore__` shape the ignore label, reads the image inside the file
(`imageData`) before the one `imagePath` names, and clips shapes at the image's edge.

Import: every shape type labelme has, drawn as labelme draws it, in file order over the background
(`_background_` from labels.txt or the shapes, else the project's `background`; without either the
uncovered pixels stay unlabelled, and the report says which); a shape that cannot be drawn is reported
with its file. Export: every region, holes filled, as a polygon (a `mask` shape where no polygon draws
it exactly), in painter's order (larger first) over the background class, which is left undrawn as
labelme leaves it; unlabelled pixels are `__ignore__` regions. labels.txt lists `__ignore__`,
`_background_` and the classes, as labelme2voc wants it, so labelme reads the files back to the same
label map (a project without a background class has every pixel drawn)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from fcn_studio.core.labels import LabelSet
from fcn_studio.project.formats.common import (
    ExportItem,
    ExportOptions,
    FormatError,
    Progress,
    place_image,
    run_export,
)
from fcn_studio.project.formats.contours import layers
from fcn_studio.project.formats.importing import (
    BACKGROUND_NAMES,
    ImportReport,
    Incoming,
    Source,
    embedded_image,
    embedded_target,
    store,
)
from fcn_studio.project.formats.labelme_shapes import (
    ShapeError,
    mask_shape_data,
    mask_shape_pixels,
    polygon_points,
    shape_to_mask,
)
from fcn_studio.project.project import Project

IGNORE_LABEL = "__ignore__"
BACKGROUND_LABEL = "_background_"
LABELME_VERSION = "5.5.0"


def background_index(labels: LabelSet) -> int | None:
    """The class labelme's `_background_` stands for in a label set, if it has one."""
    return next((labels.names.index(n) for n in BACKGROUND_NAMES if n in labels.names), None)


def mask_to_shapes(mask: np.ndarray, labels: LabelSet) -> list[dict]:
    """labelme shapes that, drawn in order over the background class (or, for a label set without
    one, over nothing: then every pixel is drawn), give `mask` back exactly; values outside the label
    set count as unlabelled."""
    ignore, background = labels.ignore_index, background_index(labels)
    mask = np.where(mask < len(labels), mask, ignore)
    shapes = []
    for layer in layers(mask, -1 if background is None else background):
        label = IGNORE_LABEL if layer.value == ignore else labelme_name(labels, layer.value)
        points = polygon_points(layer.fill)
        shape = {"label": label, "points": [[x + layer.x, y + layer.y] for x, y in points or []],
                 "group_id": None, "description": "", "shape_type": "polygon", "flags": {}, "mask": None}
        if points is None:
            h, w = layer.fill.shape
            shape.update(points=[[float(layer.x), float(layer.y)], [float(layer.x + w - 1), float(layer.y + h - 1)]],
                         shape_type="mask", mask=mask_shape_data(layer.fill))
        shapes.append(shape)
    return shapes


def labelme_name(labels: LabelSet, index: int) -> str:
    """A class's label in labelme files: the background class is labelme's `_background_`."""
    return BACKGROUND_LABEL if index == background_index(labels) else labels.names[index]


def labels_txt(labels: LabelSet) -> str:
    """labels.txt as labelme2voc wants it: `__ignore__`, `_background_`, then the other classes."""
    background = background_index(labels)
    rest = [n for i, n in enumerate(labels.names) if i != background]
    return "\n".join([IGNORE_LABEL, BACKGROUND_LABEL, *rest]) + "\n"


def shapes_to_mask(size: tuple[int, int], shapes: list[dict], classes: dict[str, int], fill: int,
                   problem, note=None) -> np.ndarray:
    """Draws the shapes in file order, later over earlier, over `fill` (the background), as labelme's
    shapes_to_label does; each shape it cannot draw goes to `problem(text)` and is left out, and each
    one clipped at the image's edge (as labelme clips it) to `note(text)`."""
    h, w = size
    mask = np.full(size, fill, np.uint8)
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
        if clipped and note is not None:
            note(f"{name} reaches past the image's edge; clipped there, as labelme draws it")
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
        (tmp / "labels.txt").write_text(labels_txt(labels))

    return run_export(project, out, options, progress, write_item, finish)


def import_labelme(project: Project, root: Path, source: Source,
                   progress: Progress | None = None) -> ImportReport:
    root = Path(root)
    report = source.report
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*.json")
                                                 if not any(part.startswith(".") for part in p.relative_to(root).parts))
    if not files:
        raise FormatError(f"{root}: no labelme .json files")
    docs = []
    for f in files:
        try:
            doc = json.loads(f.read_text(encoding="utf-8"))
            if not isinstance(doc, dict) or not isinstance(doc.get("shapes"), list) or "imagePath" not in doc:
                raise ValueError("no 'shapes' list or 'imagePath'")
            docs.append((f, doc))
        except (json.JSONDecodeError, ValueError, UnicodeDecodeError) as exc:
            report.problem(f"{f}: malformed labelme JSON ({exc})")
    labels, fill = _classes(project, root if root.is_dir() else root.parent, docs, report)
    classes = {IGNORE_LABEL: labels.ignore_index, **{n: i for i, n in enumerate(labels.names)}}
    items, taken = [], set()
    for f, doc in docs:
        def read(shape, doc=doc, f=f):
            return shapes_to_mask(shape, doc["shapes"], classes, fill, lambda text, f=f: report.problem(f"{f}: {text}"),
                                  lambda text, f=f: report.note(f"{f}: {text}"))

        item = _image_of(project, f, doc, source, taken)
        if item is not None:
            item.reader = read
            items.append(item)
    return store(project, items, labels, source, progress)


def _classes(project: Project, folder: Path, docs: list, report: ImportReport) -> tuple[LabelSet, int]:
    """The classes (labelme's labels.txt order, then the shapes' order) and the index of what no shape
    covers: the background, as labelme reads it, else unlabelled."""
    names: list[str] = []
    order = folder / "labels.txt"
    if order.is_file():  # labelme's own convention for the class order
        names = [n.strip() for n in order.read_text(encoding="utf-8").splitlines()
                 if n.strip() and n.strip() != IGNORE_LABEL]
    for _, doc in docs:
        for s in doc["shapes"]:
            label = s.get("label") if isinstance(s, dict) else None
            if isinstance(label, str) and label not in names and label != IGNORE_LABEL:
                names.append(label)
    background = next((n for n in BACKGROUND_NAMES if n in names), None) or next(
        (n for n in project.labels.names if n in BACKGROUND_NAMES), None)
    if background is None:
        report.note("pixels no shape covers are left unlabelled: neither the files nor the project have a "
                    "background class (labelme's _background_)")
        labels = LabelSet(tuple(names) or (BACKGROUND_LABEL,))
        return labels, labels.ignore_index
    if background not in names:
        names.insert(0, background)
    report.note(f"pixels no shape covers are {background!r}, as labelme reads them (labelme2voc, "
                f"labelme_json_to_dataset: `_background_`)")
    return LabelSet(tuple(names)), names.index(background)


def _image_of(project: Project, f: Path, doc: dict, source: Source, taken: set) -> Incoming | None:
    """The image of one labelme file, as labelme finds it: the image inside the file (imageData) first,
    unless `imagePath` names a file of the same size inside the dataset; else the file it names."""
    written = doc.get("imagePath")
    data = doc.get("imageData")
    if isinstance(data, str) and data:
        try:
            data, suffix = embedded_image(data)
        except ValueError as exc:
            source.report.problem(f"{f}: {exc}")
            return None
        named = f.parent / str(written or "").replace("\\", "/")
        if written and source.inside(named) and named.is_file() and not named.samefile(f) and _same_size(named, data):
            return Incoming(named)
        return Incoming(embedded_target(project, f.stem, data, suffix, taken), data=data)
    if not isinstance(written, str) or not written:
        source.report.problem(f"{f}: no image: imagePath is empty and there is no imageData")
        return None
    path = source.path(f.parent, written, f"{f}: imagePath")
    return None if path is None else Incoming(path)


def _same_size(path: Path, data: bytes) -> bool:
    import io  # noqa: PLC0415

    from PIL import Image, ImageOps  # noqa: PLC0415

    from fcn_studio.core.image_io import ImageLoadError, image_size  # noqa: PLC0415

    try:
        with Image.open(io.BytesIO(data)) as img:
            return image_size(path) == ImageOps.exif_transpose(img).size
    except (ImageLoadError, OSError, ValueError):
        return False
