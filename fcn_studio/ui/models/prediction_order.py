"""Which images the model predicts again, and in what order: one place for Predict All, a swapped-in
model after a training run, and each version keep learning offers. Only images without a person's mask
are queued (a person's mask is never replaced); the least certain come first, after any the person is
about to see."""

from __future__ import annotations

from fcn_studio.ui.errors import show_error

NEXT_FEW = 5  # images after the one on screen that a person will most likely open next


def predict_all(w, screen_first: bool = False) -> None:
    """Queues the images no person has labelled, least certain first; with `screen_first`, the image on
    screen (if no person touched it) and the next few in the list go before the rest."""
    if w.project is None or w.worker.predictor is None:
        show_error(w, "Predict all", "Open a project and load a model first.")
        return
    ids = [r.id for r in w.project.most_uncertain()]
    if not ids:
        w.status.showMessage("Every image has been corrected by a person; nothing to predict.", 8000)
        return
    if screen_first:
        ids = _screen_first(w, ids)
    w.status.batch.start(len(ids))
    w.worker.predict_all(ids)


def _screen_first(w, waiting: list[int]) -> list[int]:
    listed = [r.id for r in w.project.images()]
    current, pending = w.current_id, set(waiting)
    first = [current] if current in pending and w.session.untouched(current) else []
    if current in listed:
        first += [i for i in listed[listed.index(current) + 1:] if i in pending and i not in first][:NEXT_FEW]
    return first + [i for i in waiting if i not in first]


def batch_finished(w, done: int, total: int, cancelled: bool, failures: int) -> None:
    w.status.batch.hide()
    word = "cancelled after" if cancelled else "finished:"
    w.status.showMessage(f"Predict all {word} {done} of {total} images"
                         + (f", {failures} failed (see the list's tooltips)" if failures else ""), 15000)


def next_to_label(w) -> None:
    """Jumps to the uncorrected image the model is least sure of."""
    if w.project is None:
        return
    for rec in w.project.most_uncertain():
        if rec.id != w.current_id:
            w.image_list.select(rec.id)
            return
    w.status.showMessage("No uncorrected image left for the model to rank.", 5000)
