"""GeoJSON polygons per class, as QuPath imports them (File > Import objects): one Feature per polygon,
an annotation with its class's name and colour, coordinates in full-resolution pixels (x right, y down),
outlines along pixel edges (the project's one tracer, formats.contours), so the polygons cover exactly
the labelled pixels. Whole slides are read chunk by chunk and the pieces joined across chunk edges by
shapely, so memory follows the polygons, not the slide. Unlabelled pixels (255) and classes the remap
drops are left out; background (class 0) too, unless `--which` asks for it through the remap."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from fcn_studio.core.atomic import FolderNotEmpty, atomic_dir
from fcn_studio.core.labels import LabelSet
from fcn_studio.project.formats.common import (
    ExportOptions,
    FormatError,
    Progress,
    each,
    export_items,
    remapped,
)
from fcn_studio.project.formats.contours import corner_outlines
from fcn_studio.project.formats.region_labels import RegionLabels, region_labels
from fcn_studio.project.project import Project


def _signed_area(loop: list[tuple[int, int]]) -> float:
    x = np.array([p[0] for p in loop], float)
    y = np.array([p[1] for p in loop], float)
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def _region(binary: np.ndarray, y0: int, x0: int):
    """The pixels of `binary` (placed at y0, x0) as one shapely geometry: loops outermost first, each
    outline added and each hole taken away (an island in a hole is smaller than the hole, so it comes
    after it and is added back)."""
    from shapely import Polygon  # noqa: PLC0415

    loops = [[(x + x0, y + y0) for x, y in loop] for loop in corner_outlines(binary)]
    # an outline has the inside on its right (y down): its signed area (shoelace) is positive; a hole's
    # is negative
    ordered = sorted(((abs(a), a > 0, loop) for loop in loops if (a := _signed_area(loop))), key=lambda t: -t[0])
    geometry = Polygon()
    for _size, outer, loop in ordered:
        piece = Polygon(loop)
        geometry = geometry.union(piece) if outer else geometry.difference(piece)
    return geometry


def class_geometries(labels: RegionLabels, skip: set[int], lut: np.ndarray | None = None) -> dict[int, object]:
    """Each class's pixels (but `skip`; through `lut`, a class remapping) as one shapely
    (multi)polygon, joined across parts."""
    from shapely import unary_union  # noqa: PLC0415

    pieces: dict[int, list] = {}
    for y0, x0, part in labels.parts():
        part = part if lut is None else lut[part]
        for value in np.unique(part):
            if int(value) not in skip:
                pieces.setdefault(int(value), []).append(_region(part == value, y0, x0))
    return {value: unary_union(parts) for value, parts in sorted(pieces.items())}


def features(geometries: dict[int, object], labels: LabelSet) -> list[dict]:
    from shapely.geometry import mapping  # noqa: PLC0415

    out = []
    for value, geometry in geometries.items():
        polygons = getattr(geometry, "geoms", [geometry])
        for polygon in polygons:
            if polygon.is_empty:
                continue
            out.append({"type": "Feature", "geometry": mapping(polygon), "properties": {
                "objectType": "annotation",
                "classification": {"name": labels.names[value], "color": list(labels.colors[value])}}})
    return out


def export_geojson(project: Project, out: Path, options: ExportOptions, progress: Progress | None = None,
                   background: bool = False) -> int:
    """<out>/<image name>.geojson for every chosen image (whole slides included), and classes.json."""
    labels, lut = remapped(project.labels, options.remap)
    skip = {labels.ignore_index} | (set() if background else {0})
    items = export_items(project, options, slides=True)
    try:
        with atomic_dir(out, options.replace) as tmp:
            for item in each(items, progress):
                found = region_labels(project, item.record)
                if found is None:
                    continue
                collection = {"type": "FeatureCollection",
                              "features": features(class_geometries(found, skip, lut), labels)}
                (tmp / f"{item.name}.geojson").write_text(json.dumps(collection), encoding="utf-8")
            (tmp / "classes.json").write_text(json.dumps(labels.to_dict(), indent=2))
    except FolderNotEmpty as exc:
        raise FormatError(f"{exc}; choose another folder or ask to replace it") from None
    return len(items)
