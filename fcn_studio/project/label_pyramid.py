"""Masks of whole-slide images: chunked label pyramids in the OME-Zarr labels layout (NGFF 0.4, zarr
format 2), so no mask is ever held whole and any OME-Zarr reader (napari, ome-zarr-py, plain zarr)
opens them.

- `masks/<image name>.zarr/` for a person's labels, `predictions/<image name>.zarr/` for the model's,
  apart as for ordinary images (`pyramid_path`). Level k is the mask at 1 / 2**k, down to the display
  levels' smallest (core.pyramid.level_count); chunks of CHUNK x CHUNK, zstd-compressed.
- Unlabelled pixels are 255 (ignore), the arrays' fill value: a chunk nobody painted is not stored, so
  an unlabelled slide costs nothing on disk.
- Writing a region writes only the chunks it touches, at every level, and the coarser levels only over
  that region, sampled by nearest neighbour (level k pixel (i, j) is level-0 pixel (i * 2**k, j * 2**k),
  what the canvas's MapLevels shows): labels are never averaged into classes nobody painted.
- zarr replaces each chunk file by a rename, so a process killed mid-write leaves every chunk either old
  or new: every finished write stays readable. `PyramidEditor` journals each stroke (fsynced, in the
  project's edit-journal format, in masks/.slide-journal/) before it is written to the chunks, and
  `replay_orphans` writes the strokes of a killed owner when the project opens again."""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from fcn_studio.core.pyramid import level_count
from fcn_studio.project.journal import EditJournal, orphaned_folders, read_records

CHUNK = 512
IGNORE = 255
SLIDE_JOURNALS = ".slide-journal"
NGFF_VERSION = "0.4"
Rect = tuple[int, int, int, int]  # y0, x0, y1, x1 (exclusive)


def pyramid_path(folder: Path, mask_name: str) -> Path:
    """Where an image's label pyramid lives under `folder` (the project's masks/ or predictions/):
    its mask name (project.mask_names) with .zarr instead of .png."""
    return Path(folder) / (mask_name.removesuffix(".png") + ".zarr")


def _nearest_down(patch: np.ndarray, origin: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int]]:
    """The next level's part of a level's patch whose top-left pixel is `origin`: the pixels at even
    coordinates, and where they land one level down."""
    oy, ox = origin
    ny, nx = -(-oy // 2), -(-ox // 2)  # the first even row / column inside the patch, halved
    return patch[2 * ny - oy::2, 2 * nx - ox::2], (ny, nx)


class LabelPyramid:
    """One label pyramid on disk. `create` makes a new one for an image of (height, width); `open`
    opens an existing one."""

    def __init__(self, path: Path, group) -> None:
        self.path = Path(path)
        self._group = group
        self.arrays = [group[str(k)] for k in range(len(group.attrs["multiscales"][0]["datasets"]))]

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.arrays[0].shape)

    @property
    def levels(self) -> int:
        return len(self.arrays)

    @classmethod
    def create(cls, path: str | Path, shape: tuple[int, int], chunk: int = CHUNK,
               colors: dict[int, tuple[int, int, int]] | None = None) -> LabelPyramid:
        import zarr
        from numcodecs import Zstd

        path = Path(path)
        group = zarr.open_group(str(path), mode="w-", zarr_format=2)
        h, w = shape
        datasets = []
        for k in range(level_count(h, w)):
            s = 2**k
            group.create_array(str(k), shape=(-(-h // s), -(-w // s)), chunks=(chunk, chunk), dtype="uint8",
                               fill_value=IGNORE, compressors=Zstd(level=3), chunk_key_encoding={
                                   "name": "v2", "separator": "/"})
            datasets.append({"path": str(k), "coordinateTransformations": [
                {"type": "scale", "scale": [float(s), float(s)]}]})
        group.attrs["multiscales"] = [{
            "version": NGFF_VERSION, "name": path.stem, "type": "nearest",
            "axes": [{"name": "y", "type": "space"}, {"name": "x", "type": "space"}], "datasets": datasets}]
        group.attrs["image-label"] = {"version": NGFF_VERSION, "colors": [
            {"label-value": int(v), "rgba": [*map(int, rgb), 255]} for v, rgb in sorted((colors or {}).items())]}
        return cls(path, group)

    @classmethod
    def open(cls, path: str | Path, sweep: bool = False) -> LabelPyramid:
        """`sweep`: delete the chunk writes a killed process left (*.partial, never renamed; hidden,
        never read). Only when the project opens (its replay of killed windows' strokes): anyone else
        opening it while another thread or process writes (the canvas, a prediction, a training
        backend, a window still closing) would delete that write in flight."""
        import zarr

        path = Path(path)
        if sweep:
            for partial in path.rglob("*.partial"):
                with contextlib.suppress(OSError):
                    partial.unlink()
        return cls(path, zarr.open_group(str(path), mode="r+"))

    def read(self, level: int, rect: Rect) -> np.ndarray:
        """The rectangle (in `level`'s pixels, inside it) as a uint8 array."""
        y0, x0, y1, x1 = rect
        return np.asarray(self.arrays[level][y0:y1, x0:x1])

    def write(self, rect: Rect, patch: np.ndarray) -> None:
        """Sets level 0 over `rect` (y0, x0, y1, x1) to `patch`, and every coarser level over the same
        region: only the chunks the region touches are read and written."""
        y0, x0, y1, x1 = rect
        patch = np.asarray(patch, np.uint8)
        if patch.shape != (y1 - y0, x1 - x0) or y0 < 0 or x0 < 0 or y1 > self.shape[0] or x1 > self.shape[1]:
            raise ValueError(f"a patch of {patch.shape} does not fit {rect} in a pyramid of {self.shape}")
        origin = (y0, x0)
        for k, array in enumerate(self.arrays):
            if k:
                patch, origin = _nearest_down(patch, origin)
            if patch.size == 0:
                break  # the region holds no pixel of this level (nor of any coarser one)
            array[origin[0]:origin[0] + patch.shape[0], origin[1]:origin[1] + patch.shape[1]] = patch

    def stored_chunks(self, level: int = 0) -> list[tuple[int, int]]:
        """The (row, column) chunks of `level` that are on disk: where anything was ever painted (zarr
        stores no chunk that holds only the fill value), found by listing, not by reading."""
        base = self.path / str(level)
        found = []
        if base.is_dir():
            for row in base.iterdir():
                if row.is_dir() and row.name.isdigit():
                    found.extend((int(row.name), int(c.name)) for c in row.iterdir() if c.name.isdigit())
        return sorted(found)

    def chunks_of(self, level: int, rect: Rect) -> list[tuple[int, int]]:
        """The (row, column) chunks of `level` that a level-0 rectangle's update writes."""
        s = 2**level
        y0, x0 = -(-rect[0] // s), -(-rect[1] // s)
        y1, x1 = -(-rect[2] // s), -(-rect[3] // s)
        if y0 >= y1 or x0 >= x1:
            return []
        ch, cw = self.arrays[level].chunks
        return [(r, c) for r in range(y0 // ch, -(-y1 // ch)) for c in range(x0 // cw, -(-x1 // cw))]


class PyramidEditor:
    """Strokes on one image's label pyramid: each is journalled (durable) when `stroke` returns, and
    written to the chunks at `flush` (the autosaver's moment, in its thread), then dropped from the
    journal. `read` sees the strokes not yet written, so the canvas and the next stroke never look
    past them. Strokes come from one thread and flushes from another: the lock covers the journal and
    the list, never the chunk writes."""

    def __init__(self, pyramid: LabelPyramid, journal: EditJournal, image_id: int) -> None:
        self.pyramid, self.journal, self.image_id = pyramid, journal, image_id
        self._pending: list[tuple[Rect, np.ndarray]] = []
        self._lock = threading.Lock()
        self.version = 0

    @property
    def unsaved(self) -> int:
        """Strokes journalled but not yet in the chunks."""
        with self._lock:
            return len(self._pending)

    def stroke(self, rect: Rect, patch: np.ndarray) -> None:
        patch = np.array(patch, np.uint8)  # a copy: the caller goes on painting into its own
        with self._lock:
            self.version += 1
            self.journal.append_region(self.image_id, self.version, self.pyramid.shape, rect, patch)
            self._pending.append((rect, patch))

    def read(self, level: int, rect: Rect) -> np.ndarray:
        """The rectangle of `level` as it is after every stroke, written or not."""
        out = self.pyramid.read(level, rect).copy()
        with self._lock:
            pending = list(self._pending)
        for done, patch in pending:
            _paste_sampled(out, level, rect, done, patch)
        return out

    def flush(self) -> int:
        """Writes the journalled strokes to the chunks, in order; returns how many."""
        with self._lock:
            todo, version = list(self._pending), self.version
        for rect, patch in todo:
            self.pyramid.write(rect, patch)
        with self._lock:
            del self._pending[:len(todo)]
            self.journal.saved(self.image_id, version)
        return len(todo)


def _paste_sampled(out: np.ndarray, level: int, rect: Rect, done: Rect, patch: np.ndarray) -> None:
    """Puts a level-0 `patch` at `done` into `out` (the rectangle `rect` of `level`), sampled as the
    coarser levels are (level k pixel (i, j) is level-0 pixel (i * 2**k, j * 2**k))."""
    s = 2**level
    iy0, ix0 = max(rect[0], -(-done[0] // s)), max(rect[1], -(-done[1] // s))
    iy1, ix1 = min(rect[2], -(-done[2] // s)), min(rect[3], -(-done[3] // s))
    if iy0 >= iy1 or ix0 >= ix1:
        return
    part = patch[iy0 * s - done[0]:iy1 * s - done[0]:s, ix0 * s - done[1]:ix1 * s - done[1]:s]
    out[iy0 - rect[0]:iy1 - rect[0], ix0 - rect[1]:ix1 - rect[1]] = part


def remapped_copy(source: Path, target: Path, lut: np.ndarray) -> None:
    """A copy of the pyramid at `source` with every label passed through `lut` (a class change), made
    chunk by chunk (only the stored ones: the rest is the fill value, which `lut` keeps)."""
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target)
    pyramid = LabelPyramid.open(target)
    for level, array in enumerate(pyramid.arrays):
        ch, cw = array.chunks
        for row, col in pyramid.stored_chunks(level):
            part = (slice(row * ch, (row + 1) * ch), slice(col * cw, (col + 1) * cw))
            array[part] = lut[np.asarray(array[part])]


def replace_folder(new: Path, final: Path) -> None:
    """`new` takes the place of the folder `final`; run again after a crash at any point, it finishes
    (the old folder waits beside as <name>.old until the new one is in place)."""
    old = final.with_name(final.name + ".old")
    if new.exists():
        if final.exists():
            if old.exists():
                shutil.rmtree(old)
            os.replace(final, old)
        os.replace(new, final)
    shutil.rmtree(old, ignore_errors=True)


def replay_orphans(project_root: Path, pyramid_for: Callable[[int], LabelPyramid]) -> list[int]:
    """Writes the journalled strokes of killed owners into their pyramids (`pyramid_for(image_id)`),
    oldest first; returns the image ids restored. Strokes are absolute contents, so writing one that
    already reached the chunks again changes nothing. A journal that cannot be applied is kept."""
    restored = []
    for folder in orphaned_folders(project_root, SLIDE_JOURNALS):
        keep = False
        for path in sorted(folder.glob("*.jnl")):
            try:
                image_id = int(path.stem)
                records = [r for r in read_records(path) if r.kind == "region"]
                if records:
                    pyramid = pyramid_for(image_id)
                    for rec in records:
                        y0, x0, y1, x1 = rec.tiles[0]
                        patch = np.frombuffer(rec.data, np.uint8).reshape(y1 - y0, x1 - x0)
                        pyramid.write((y0, x0, y1, x1), patch)
                    restored.append(image_id)
                path.unlink()
            except Exception:  # noqa: BLE001 - a damaged journal or a vanished pyramid: keep it for a person
                keep = True
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)
    return restored



class _PyramidRows:
    """Level 0 of a label pyramid by bands of rows, for the pyramid writer."""

    def __init__(self, pyramid: LabelPyramid) -> None:
        self.pyramid = pyramid
        self.shape = (*pyramid.shape, 1)
        self.dtype = np.dtype(np.uint8)

    def band(self, y0: int, y1: int) -> np.ndarray:
        return self.pyramid.read(0, (y0, 0, y1, self.pyramid.shape[1]))


def export_label_tiff(pyramid: LabelPyramid, output: str | Path, labels=None, progress=None) -> Path:
    """The label pyramid as a tiled pyramidal OME-TIFF of class indices (255: not labelled), with the
    class table of `labels` (a LabelSet) in its metadata, read and written a band at a time: what
    QuPath, tifffile and other tools open."""
    from fcn_studio.core.slide.pyramid_writer import label_metadata, nearest_halve, write_pyramid_tiff

    metadata = label_metadata(labels) if labels is not None else None
    return write_pyramid_tiff(output, _PyramidRows(pyramid), nearest_halve, progress=progress, metadata=metadata)
