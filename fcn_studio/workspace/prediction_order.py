"""Which images the model predicts again, and in what order: one rule for Predict All, a swapped-in
model after a training run, and each version keep learning offers. Only images without a person's mask
are queued (a person's mask is never replaced); the least certain come first, after any the person is
about to see. Qt-free: the window only hands the list to its worker."""

from __future__ import annotations

from collections.abc import Callable

from fcn_studio.project.project import Project

NEXT_FEW = 5  # images after the one on screen that a person will most likely open next


def uncorrected_order(project: Project, current_id: int | None = None, screen_first: bool = False,
                      untouched: Callable[[int], bool] = lambda _i: True) -> list[int]:
    """The images no person has labelled, least certain first; with `screen_first`, the image on screen
    (if no person touched it: `untouched`) and the next few in the list go before the rest."""
    waiting = [r.id for r in project.most_uncertain()]
    if not screen_first or not waiting:
        return waiting
    listed, pending = [r.id for r in project.images()], set(waiting)
    first = [current_id] if current_id in pending and untouched(current_id) else []
    if current_id in listed:
        first += [i for i in listed[listed.index(current_id) + 1:] if i in pending and i not in first][:NEXT_FEW]
    return first + [i for i in waiting if i not in first]

