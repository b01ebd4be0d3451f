"""Which file holds an image's mask: named after the image, not its database id, so a person browsing
`masks/` finds `masks/sub/dir/img.png` for `sub/dir/img.jpg`. The sub-folders are kept, so equal names in
different folders never collide; the few names that still would (`a.jpg` beside `a.png`, or two names
that differ only in case on a case-insensitive disk) get the image's extension, then a number. The name is
chosen once, when the image is added, and stored with it (`images.mask_name`): the masks, the
predictions and the confidence maps of an image all use it, and every reader asks `Project.mask_path`."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from pathlib import PurePosixPath

LEGACY_FORMAT = "{:06d}.png"  # how projects made before mask_name named their files


def legacy_name(image_id: int) -> str:
    return LEGACY_FORMAT.format(image_id)


def _parts(stored: str) -> list[str]:
    """The image path's folders and file name, without a root, a drive or '..': '../data/a.jpg' ->
    ['data', 'a.jpg'], '/home/u/a.jpg' -> ['home', 'u', 'a.jpg'], 'C:/x/a.jpg' -> ['C', 'x', 'a.jpg'].
    A leading dot is made visible ('_'), so no name can reach the project's hidden folders."""
    out = []
    for part in PurePosixPath(stored.replace("\\", "/")).parts:
        part = part.rstrip(":") if not out and part.endswith(":") else part
        if part in ("", "/", ".", ".."):
            continue
        out.append("_" + part[1:] if part.startswith(".") else part)
    return out or ["image"]


def mask_name_for(stored: str, taken: set[str]) -> str:
    """A relative POSIX path for the image's mask files that `taken` (case-folded names) does not hold;
    the caller adds it to `taken`."""
    *folders, file = _parts(stored)
    stem, dot, ext = file.rpartition(".")
    stem = stem if dot else file
    # made one at a time: adding 10,000 images must not build 10,000 candidates for each (8 s)
    candidates = itertools.chain([f"{stem}.png"], [f"{stem}.{ext}.png"] if dot else [],
                                 (f"{stem}_{n}.png" for n in range(2, 10_000)))
    for candidate in candidates:
        name = "/".join([*folders, candidate])
        if name.casefold() not in taken:
            return name
    raise RuntimeError(f"no free mask name for {stored}")


def taken_names(names: Iterable[str | None]) -> set[str]:
    return {n.casefold() for n in names if n}
