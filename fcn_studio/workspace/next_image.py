"""Which image a person should correct next (Go > Next to Label, `N`): the one that teaches
the model most. Uncertainty alone asks for the same kind of image again and again (five dim tiles in a
row, each as uncertain as the last until a new model arrives), so among the few images the model is
least sure of, the one least like anything already corrected comes first. Qt-free: the window, the
image list's "why next" and the loop benchmark (`--order app`) all ask `next_to_label`.

"Like" is a small signature per image: the share of each class in its mask (the person's for a corrected
image, the model's prediction otherwise) and the brightness and contrast of its thumbnail. Signatures
are kept in memory by file version, so pressing N again reads only what changed."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fcn_studio.core.image_io import ImageLoadError
from fcn_studio.core.mask_io import MaskError, read_mask
from fcn_studio.core.thumbnails import make_thumbnail
from fcn_studio.project.project import Project

SHORTLIST = 5  # the images the model is least sure of, among which the least familiar is chosen
REFERENCE = 30  # corrected images compared with (the most recent ones)
THUMB = 64  # the image list's thumbnail size: the same cached file serves both


@dataclass(frozen=True)
class NextImage:
    image_id: int
    reason: str  # for the image list's tooltip and the status line


def next_to_label(project: Project, current_id: int | None = None) -> NextImage | None:
    """The uncorrected image to correct next (never the one on screen), and why."""
    waiting = [r for r in project.most_uncertain() if r.id != current_id]
    if not waiting:
        return None
    ranked = [r for r in waiting if r.uncertainty is not None]
    if not ranked:
        return NextImage(waiting[0].id, "first in name order: the model has predicted none of the uncorrected images")
    # the few least sure (and all that tie with them), none less than half as unsure as the least sure
    cut = max(ranked[min(SHORTLIST, len(ranked)) - 1].uncertainty, ranked[0].uncertainty / 2) - 1e-6
    shortlist = [r for r in ranked if r.uncertainty >= cut]
    labelled = _labelled(project)
    if not labelled:
        top = shortlist[0]
        return NextImage(top.id, f"the model is least sure of it (uncertainty {top.uncertainty:.2f}, first of "
                                 f"{len(ranked)} predicted)")
    known = [s for s in (_signature(project, i, labelled=True) for i in labelled) if s is not None]
    far = []
    for rank, rec in enumerate(shortlist):
        sig = _signature(project, rec.id, labelled=False)
        distance = min((float(np.abs(sig - k).sum()) for k in known), default=1.0) if sig is not None else 0.0
        far.append((distance, -rank, rec))
    _, minus_rank, chosen = max(far, key=lambda t: (t[0], t[1]))
    unlike = f"the least like the {len(known)} image{'s' * (len(known) != 1)} corrected so far"
    if minus_rank == 0:
        return NextImage(chosen.id, f"the model is least sure of it (uncertainty {chosen.uncertainty:.2f}) and it is "
                                    f"{unlike}")
    return NextImage(chosen.id, f"of the {len(shortlist)} images the model is least sure of, it is {unlike} "
                                f"(uncertainty {chosen.uncertainty:.2f}, number {1 - minus_rank})")


def _labelled(project: Project) -> list[int]:
    """The most recently labelled images, newest first (a person's mask, corrected or reviewed)."""
    records = [r for r in project.images() if r.state in ("corrected", "reviewed")]
    stamps = {r.id: _mtime(project.mask_path(r.id)) for r in records}
    return sorted(stamps, key=lambda i: stamps[i], reverse=True)[:REFERENCE]


def _mtime(path: Path) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return 0


_cache: OrderedDict[tuple, np.ndarray | None] = OrderedDict()
_lock = threading.Lock()


def _signature(project: Project, image_id: int, labelled: bool) -> np.ndarray | None:
    """Class shares (the person's mask, else the model's prediction), then thumbnail brightness and
    contrast in [0, 1]; None when neither mask nor image can be read."""
    image = project.image_path(image_id)
    mask = project.mask_path(image_id) if labelled else project.prediction_path(image_id)
    key = (str(image), _mtime(image), str(mask), _mtime(mask), len(project.labels))
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    sig = _compute(image, mask, project)
    with _lock:
        _cache[key] = sig
        while len(_cache) > 5000:
            _cache.popitem(last=False)
    return sig


def _compute(image: Path, mask: Path, project: Project) -> np.ndarray | None:
    n = len(project.labels)
    try:
        labels = read_mask(mask, labels=project.labels)
        step = max(1, max(labels.shape) // 256)
        sample = labels[::step, ::step]
        sample = sample[sample < n]
        shares = np.bincount(sample, minlength=n)[:n] / max(1, sample.size)
    except (OSError, MaskError, ValueError):
        shares = np.zeros(n)
    try:
        grey = make_thumbnail(image, THUMB).astype(np.float32).mean(axis=2) / 255.0
        looks = np.array([grey.mean(), grey.std()]) * 2  # as much weight as the class shares
    except (OSError, ImageLoadError, ValueError):
        looks = np.zeros(2)
    return np.concatenate([shares, looks])
