"""Import, as one step. Every format reads its files into `Incoming` items (an image and a way to read
its mask in the source's class indices); `store` then reads every mask first, and only after that
changes the project, once: the classes the written masks use are added (no others), the images come
in, the masks are stored as human labels (reviewed) through project.save_mask. If anything fails on
the way, what the import did is undone, so a failed import leaves the project as it was.

Paths written in a dataset's files (labelme's `imagePath`, COCO's `file_name`) are followed only
inside the folder being imported (and the images folder the person named), unless the person allows
more; each one that leads outside is reported. What the import did by rule rather than by problem
(pixels no shape covers made background, shapes clipped at the image's edge, crowd regions) is said
in the report's notes; problems are what kept something out."""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import io
import os
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fcn_studio.core.labels import VOC_COLORMAP, LabelSet
from fcn_studio.project.formats.common import FormatError, Progress
from fcn_studio.project.project import ImageRecord, Project
from fcn_studio.project.schema import HUMAN_STATES

BACKGROUND_NAMES = ("_background_", "background")  # labelme's name for it, and everyone else's
OUTSIDE = ("skip", "follow", "ask")
EMBEDDED_FOLDER = "imported"  # images that came inside a dataset's files are written here, in the project


class OutsidePaths(FormatError):
    """The dataset's files name images outside it; raised before anything changed when the import was
    to ask (the window asks the person, listing them, then imports again with the answer)."""

    def __init__(self, root: Path, paths: list[str]) -> None:
        self.root, self.paths = root, paths
        shown = "; ".join(paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")
        super().__init__(f"{len(paths)} image path(s) in the files of {root} lead outside it: {shown}")


@dataclass
class ImportOptions:
    overwrite: bool = False  # replace masks a person already corrected
    outside: str = "skip"  # paths leading outside the dataset: skip (reported) | follow | ask (OutsidePaths)
    images: Path | None = None  # where the images are, for a layout whose files do not say


@dataclass
class ImportReport:
    imported: int = 0
    skipped_existing: int = 0
    added_classes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # what kept an image, a shape or a file out
    notes: list[str] = field(default_factory=list)  # what was done by rule: nothing was lost
    outside: list[str] = field(default_factory=list)  # paths that led outside the dataset
    same_content: int = 0  # incoming images that are byte-for-byte copies of project images: not added again
    touched: list[int] = field(default_factory=list)  # ids of the images whose mask the import wrote

    def problem(self, text: str) -> None:
        self.problems.append(text)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


@dataclass
class Incoming:
    """One image and its mask, in the source's own class indices."""

    image: Path
    mask: np.ndarray | None = None
    reader: Callable[[tuple[int, int]], np.ndarray] | None = None  # lazily, given the image (H, W)
    data: bytes | None = None  # an image that came inside a file: written to `image` by the import


class Source:
    """The folder being imported, the options, and the report: where paths from its files may lead."""

    def __init__(self, root: Path, options: ImportOptions, report: ImportReport | None = None) -> None:
        if options.outside not in OUTSIDE:
            raise FormatError(f"outside paths: one of {', '.join(OUTSIDE)}, not {options.outside!r}")
        root = Path(root)
        self.options = options
        self.report = report or ImportReport()
        self.roots = [_normal(root if root.is_dir() or not root.exists() else root.parent)]
        if options.images is not None:
            self.roots.append(_normal(Path(options.images)))
        self.asked: list[str] = []

    @property
    def root(self) -> Path:
        return self.roots[0]

    def widen(self, folder: Path) -> None:
        """A layout whose files sit in a sub-folder (COCO's annotations/) has its dataset above it."""
        folder = _normal(folder)
        if folder not in self.roots:
            self.roots.append(folder)

    def inside(self, path: Path) -> bool:
        path = _normal(path)
        return any(path == r or r in path.parents for r in self.roots)

    def path(self, base: Path, written: str, what: str) -> Path | None:
        """The file a dataset's file names (`written`, relative to `base` unless absolute; Windows
        separators read as labelme reads them), or None when it leads outside and is not followed."""
        path = _normal(Path(base) / written.replace("\\", "/"))
        if self.inside(path):
            return path
        self.report.outside.append(str(path))
        outside = f"{what} {written!r} leads outside {self.root}"
        if self.options.outside == "follow":
            self.report.note(f"{outside}; followed, as asked")
            return path
        if self.options.outside == "ask":
            self.asked.append(str(path))
            return path  # never read: store() raises before reading anything
        self.report.problem(f"{outside}; not followed (--allow-outside follows it)")
        return None

    def check_asked(self) -> None:
        if self.asked:
            raise OutsidePaths(self.root, self.asked)


def _normal(path: Path) -> Path:
    """Absolute and without '..' (lexically: a path is judged as written, a link the owner put in the
    folder is theirs to make)."""
    return Path(os.path.normpath(Path(path).absolute()))


def _resolved(path: Path) -> Path:
    """A path as the project stores it (links followed), for finding its record."""
    return Path(os.path.normpath(Path(path).resolve()))


def embedded_image(text: str) -> tuple[bytes, str]:
    """The bytes of a base64 image inside a file (labelme's imageData) and its file suffix."""
    from PIL import Image, UnidentifiedImageError  # noqa: PLC0415

    try:
        data = base64.b64decode(text, validate=False)
        with Image.open(io.BytesIO(data)) as img:
            kind = img.format
    except (binascii.Error, ValueError, UnidentifiedImageError, OSError) as exc:
        raise ValueError(f"its embedded image (imageData) is unreadable ({exc})") from None
    return data, {"JPEG": ".jpg", "PNG": ".png", "BMP": ".bmp", "TIFF": ".tif"}.get(kind or "", ".png")


def embedded_target(project: Project, stem: str, data: bytes, suffix: str, taken: set[Path]) -> Path:
    """Where an embedded image goes in the project: `imported/<stem><suffix>`, or the same file when
    an earlier import wrote these very bytes there."""
    folder = project.root / EMBEDDED_FOLDER
    for n in range(1, 10_000):
        path = folder / (f"{stem}{suffix}" if n == 1 else f"{stem}-{n}{suffix}")
        if path in taken:
            continue
        if not path.exists() or (path.is_file() and path.read_bytes() == data):
            taken.add(path)
            return path
    raise FormatError(f"{folder}: no free name for {stem}{suffix}")


# -- the one step -----------------------------------------------------------------------------------
def plan_labels(project: LabelSet, source: LabelSet, used: set[int]) -> tuple[np.ndarray, LabelSet, list[str]]:
    """The look-up table from source indices to project indices, the label set after the import and
    the classes it adds: a source class matches a project class by name (`_background_` and
    `background` are one class), and a source class no written mask uses is not added."""
    names, colors = list(project.names), list(project.colors)
    lut = np.full(256, project.ignore_index, np.uint8)
    added = []
    for i, (name, color) in enumerate(zip(source.names, source.colors, strict=True)):
        match = name if name in names else next(
            (b for b in BACKGROUND_NAMES if name in BACKGROUND_NAMES and b in names), None)
        if match is None:
            if i not in used:
                continue
            names.append(name)
            colors.append(tuple(color) if color else VOC_COLORMAP[len(names) - 1])
            added.append(name)
            match = name
        lut[i] = names.index(match)
    if len(names) > 255:
        raise FormatError(f"the import would give the project {len(names)} classes; at most 255 fit in a mask")
    return lut, LabelSet(tuple(names), tuple(colors), project.ignore_index), added


@dataclass
class _Ready:
    item: Incoming
    record: ImageRecord | None
    packed: bytes
    shape: tuple[int, int]

    def mask(self) -> np.ndarray:
        return np.frombuffer(zlib.decompress(self.packed), np.uint8).reshape(self.shape)


class _Undo:
    """What an import changed, in order, so that a failure takes all of it back."""

    def __init__(self, project: Project) -> None:
        self.project, self.labels = project, project.labels
        self.files: list[Path] = []
        self.images: list[int] = []
        self.masks: list[tuple[int, str, bytes | None]] = []  # image id, old state, old human mask (packed)

    def remember(self, record: ImageRecord) -> None:
        path = self.project.mask_path(record.id)
        old = zlib.compress(path.read_bytes()) if record.state in HUMAN_STATES and path.is_file() else None
        self.masks.append((record.id, record.state, old))

    def run(self) -> None:
        p = self.project
        for image_id, state, old in reversed(self.masks):
            with contextlib.suppress(Exception):
                if old is None:
                    p.revert_mask(image_id)
                else:
                    from PIL import Image  # noqa: PLC0415

                    with Image.open(io.BytesIO(zlib.decompress(old))) as img:
                        p.save_mask(image_id, np.array(img, np.uint8), state)
        with contextlib.suppress(Exception):
            p.remove_images(self.images)
        for path in self.files:
            with contextlib.suppress(OSError):
                path.unlink()
        if p.labels != self.labels:
            p.change_labels(self.labels)


def store(project: Project, items: list[Incoming], source_labels: LabelSet, source: Source,
          progress: Progress | None = None) -> ImportReport:
    """Reads every mask (one bad item is reported and the rest go on), then changes the project in one
    step: classes, images, masks; undone whole if that step fails."""
    from fcn_studio.core.image_io import ImageLoadError, image_size, is_image_file  # noqa: PLC0415

    source.check_asked()
    report, overwrite = source.report, source.options.overwrite
    before = project.images()
    by_path = {project.image_path(r): r for r in before}
    present = []
    for item in items:
        if item.data is not None or (item.image.is_file() and is_image_file(item.image)):
            present.append(item)
        elif item.image.is_file():
            report.problem(f"{item.image}: not an image file FCN Studio reads")
        else:
            report.problem(f"{item.image}: the image is missing")
    copies = same_content(project, before, [i.image for i in present if i.data is None])
    report.same_content = len(copies)
    n, total = len(source_labels), 2 * len(present)
    ready: list[_Ready] = []
    used: set[int] = set()
    seen: set[Path] = set()
    for k, item in enumerate(present):
        if progress:
            progress(k, total)
        if _resolved(item.image) in seen:
            report.problem(f"{item.image}: the dataset names this image again; its first labels are kept")
            continue
        seen.add(_resolved(item.image))
        rec = copies.get(item.image) or by_path.get(_resolved(item.image))
        if rec is not None and rec.state in HUMAN_STATES and not overwrite:
            report.skipped_existing += 1
            continue
        try:
            w, h = _embedded_size(item.data) if item.data is not None else image_size(item.image)
            mask = item.mask if item.mask is not None else item.reader((h, w))
        except (ImageLoadError, ValueError, OSError) as exc:
            report.problem(f"{item.image}: {exc}" if str(item.image) not in str(exc) else str(exc))
            continue
        if mask.shape != (h, w):
            report.problem(f"{item.image}: the mask is {mask.shape[1]}x{mask.shape[0]} but the image is {w}x{h}")
            continue
        mask = np.ascontiguousarray(mask, np.uint8)
        values = np.unique(mask)
        bad = values[(values >= n) & (values != source_labels.ignore_index)]
        if bad.size:
            report.problem(f"{item.image}: unknown class indices {bad.tolist()[:8]} (made unlabelled)")
        used.update(int(v) for v in values if v < n)
        ready.append(_Ready(item, rec, zlib.compress(mask.tobytes(), 1), mask.shape))
    lut, labels, added = plan_labels(project.labels, source_labels, used)
    undo = _Undo(project)
    try:
        if added:
            project.change_labels(labels)
            report.added_classes = added
        _write_embedded(ready, undo)
        new = [r.item.image for r in ready if r.record is None]
        if new:
            project.add_images(new)
            undo.images = [r.id for r in project.images() if r.id not in {b.id for b in before}]
        by_path = {project.image_path(r): r for r in project.images()}
        report_lookalikes(project, before, [r.item.image for r in ready if r.record is None], by_path, report)
        for k, r in enumerate(ready):
            if progress:
                progress(len(present) + k, total)
            rec = r.record or by_path.get(_resolved(r.item.image))
            if rec is None:
                raise FormatError(f"{r.item.image}: could not be added to the project")
            undo.remember(rec)
            project.save_mask(rec.id, lut[r.mask()], "reviewed")
            report.imported += 1
            report.touched.append(rec.id)
    except BaseException:
        undo.run()
        report.imported, report.touched, report.added_classes = 0, [], []
        raise
    if progress:
        progress(total, total)
    return report


def _embedded_size(data: bytes) -> tuple[int, int]:
    from PIL import Image, ImageOps  # noqa: PLC0415

    with Image.open(io.BytesIO(data)) as img:
        return ImageOps.exif_transpose(img).size


def _write_embedded(ready: list[_Ready], undo: _Undo) -> None:
    from fcn_studio.core.atomic import atomic_write_bytes  # noqa: PLC0415

    for r in ready:
        if r.item.data is not None and not r.item.image.is_file():
            atomic_write_bytes(r.item.image, r.item.data)
            undo.files.append(r.item.image)


# -- images the project has already ----------------------------------------------------------------
def _digest(path: Path) -> bytes:
    h = hashlib.blake2b(digest_size=20)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.digest()


def same_content(project: Project, records: list[ImageRecord], incoming: list[Path]) -> dict[Path, ImageRecord]:
    """Incoming images that are byte-for-byte copies of a project image kept elsewhere (the images of
    an export of this project, say): they get the masks, instead of coming in again as new images.
    Only files of equal size are read and hashed, so a large project costs a stat per image."""
    known = {project.image_path(r): r for r in records}
    by_size: dict[int, list[Path]] = {}
    for path in known:
        try:
            by_size.setdefault(path.stat().st_size, []).append(path)
        except OSError:
            continue  # a missing image matches nothing
    digests: dict[Path, bytes] = {}
    out = {}
    for image in incoming:
        if _resolved(image) in known:
            continue
        try:
            candidates = by_size.get(image.stat().st_size, [])
            if not candidates:
                continue
            mine = _digest(image)
            for path in candidates:
                if path not in digests:
                    digests[path] = _digest(path)
                if digests[path] == mine:
                    out[image] = known[path]
                    break
        except OSError:
            continue
    return out


def report_lookalikes(project: Project, before: list[ImageRecord], added: list[Path],
                      by_path: dict[Path, ImageRecord], report: ImportReport) -> None:
    """New images with the name and pixel size of one the project had (a re-encoded copy, as a VOC
    export makes of a PNG) are added, and said to look like it: only a person can tell."""
    from fcn_studio.core.image_io import ImageLoadError, image_size  # noqa: PLC0415

    by_stem: dict[str, list[ImageRecord]] = {}
    for r in before:
        by_stem.setdefault(Path(r.path).stem, []).append(r)
    had = {r.id for r in before}
    for image in added:
        rec = by_path.get(_resolved(image))
        if rec is None or rec.id in had:
            continue  # not added, or it was there already
        for old in by_stem.get(image.stem, []):
            try:
                if image_size(image) == image_size(project.image_path(old)):
                    report.problem(f"{image}: added as a new image, but it looks like {old.path} (same name and "
                                   f"size, other bytes); remove one if they are the same picture")
                    break
            except (ImageLoadError, OSError, ValueError):
                continue
