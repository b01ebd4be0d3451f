"""Labels as tiled pyramidal OME-TIFFs of class indices (255: not labelled), the class table (names,
colours, ignore index) in the OME metadata: what QuPath, tifffile and napari open beside the slide. A
whole slide's label pyramid is read and written a band of rows at a time (core.slide.pyramid_writer),
so memory does not grow with the slide; an ordinary image's mask the same way, from memory."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from fcn_studio.core.atomic import FolderNotEmpty, atomic_dir
from fcn_studio.core.slide.pyramid_writer import label_metadata, nearest_halve, write_pyramid_tiff
from fcn_studio.project.formats.common import ExportOptions, FormatError, Progress, each, export_items, remapped
from fcn_studio.project.formats.region_labels import RegionLabels, region_labels
from fcn_studio.project.project import Project


class _Rows:
    """The labels by bands of rows, through the class remapping, for the pyramid writer."""

    def __init__(self, labels: RegionLabels, lut: np.ndarray) -> None:
        self.labels, self.lut = labels, lut
        self.shape = (*labels.shape, 1)
        self.dtype = np.dtype(np.uint8)

    def band(self, y0: int, y1: int) -> np.ndarray:
        if self.labels.mask is not None:
            return self.lut[self.labels.mask[y0:y1]]
        return self.lut[self.labels.pyramid.read(0, (y0, 0, y1, self.labels.shape[1]))]


def export_label_tiffs(project: Project, out: Path, options: ExportOptions, progress: Progress | None = None) -> int:
    """<out>/<image name>.ome.tif for every chosen image (whole slides included), and classes.json."""
    labels, lut = remapped(project.labels, options.remap)
    items = export_items(project, options, slides=True)
    try:
        with atomic_dir(out, options.replace) as tmp:
            for item in each(items, progress):
                found = region_labels(project, item.record)
                if found is not None:
                    write_pyramid_tiff(tmp / f"{item.name}.ome.tif", _Rows(found, lut), nearest_halve,
                                       metadata=label_metadata(labels))
            (tmp / "classes.json").write_text(json.dumps(labels.to_dict(), indent=2))
    except FolderNotEmpty as exc:
        raise FormatError(f"{exc}; choose another folder or ask to replace it") from None
    return len(items)
