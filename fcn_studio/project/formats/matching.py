"""A bare folder of masks named like the project's own images (the sample project's `ground_truth/`,
masks copied out of another tool, a project's own `masks/`): each mask file is matched to the project
image whose path ends the same way, folders included, so `gt/day2/a.png` finds `photos/day2/a.jpg`
before a lone `a.jpg` elsewhere. Class ids mean the project's classes unless a classes.json or
classes.txt lies beside the masks. Nothing is added to the project: masks for images it does not have
are reported."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from fcn_studio.core.mask_io import read_mask
from fcn_studio.project.formats.common import FormatError, Progress
from fcn_studio.project.formats.importing import ImportReport, Incoming, Source, store
from fcn_studio.project.formats.masks import SUFFIXES, _mask_name, class_list
from fcn_studio.project.project import Project


def _mask_files(folder: Path) -> dict[tuple[str, ...], Path]:
    """Mask files by their path inside the folder, without the extension (or a _labelIds-style
    suffix), as a tuple of parts; colour files (`_color`) are people's pictures, not ids: left out."""
    out: dict[tuple[str, ...], Path] = {}
    for p in sorted(folder.rglob("*.png")):
        rel = p.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts):
            continue
        stem, rank = _mask_name(p)
        if rank == len(SUFFIXES):  # a colour file
            continue
        out.setdefault((*rel.parts[:-1], stem), p)
    return out


def match_masks(project: Project, folder: Path) -> tuple[dict[int, Path], list[Path]]:
    """{image id: mask file} for the masks that name exactly one project image, by the longest ending
    of the image's path they share; and the mask files that matched no image (or several)."""
    masks = _mask_files(Path(folder))
    by_tail: dict[tuple[str, ...], list[int]] = {}
    for rec in project.images():
        parts = PurePosixPath(rec.path.replace("\\", "/")).parts
        key = (*parts[:-1], PurePosixPath(parts[-1]).stem)
        for n in range(1, len(key) + 1):
            by_tail.setdefault(key[-n:], []).append(rec.id)
    matched: dict[int, Path] = {}
    unmatched = []
    for key, path in masks.items():
        ids = by_tail.get(key)
        if (ids is None or len(ids) != 1) and len(key) > 1:
            ids = by_tail.get(key[-1:])  # a folder the project does not have: the name alone decides
        if ids is not None and len(ids) == 1 and ids[0] not in matched:
            matched[ids[0]] = path
        else:
            unmatched.append(path)
    return matched, unmatched


def looks_matched(project: Project, folder: Path) -> int:
    """How many of the folder's masks name a project image (0: not this layout)."""
    folder = Path(folder)
    return len(match_masks(project, folder)[0]) if folder.is_dir() else 0


def import_matched(project: Project, root: Path, source: Source,
                   progress: Progress | None = None) -> ImportReport:
    root = Path(root)
    if not root.is_dir():
        raise FormatError(f"{root}: not a folder")
    matched, unmatched = match_masks(project, root)
    if not matched:
        raise FormatError(f"{root}: no mask file there is named like an image of the project")
    labels = class_list(root, project.labels, list(matched.values()))
    report = source.report
    for path in unmatched:
        report.problem(f"{path}: no image of the project (or more than one) has this name")
    items = [Incoming(project.image_path(i), reader=lambda shape, m=m: read_mask(m, shape=shape, labels=labels))
             for i, m in sorted(matched.items())]
    return store(project, items, labels, source, progress)
