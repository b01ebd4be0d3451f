"""Predict All and its relatives in the window: the order is the workspace's rule
(workspace.prediction_order); this module hands it to the worker and reports the batch."""

from __future__ import annotations

from fcn_studio.ui.errors import show_error
from fcn_studio.workspace.next_image import next_to_label as choose_next
from fcn_studio.workspace.prediction_order import uncorrected_order


def predict_all(w, screen_first: bool = False) -> None:
    """Queues the images no person has labelled, least certain first; with `screen_first`, the image on
    screen (if no person touched it) and the next few in the list go before the rest."""
    if w.project is None or w.worker.predictor is None:
        show_error(w, "Predict all", "Open a project and load a model first.")
        return
    ids = uncorrected_order(w.project, w.current_id, screen_first, w.session.untouched)
    if not ids:
        w.status.showMessage("Every image has been corrected by a person; nothing to predict.", 8000)
        return
    w.status.batch.start(len(ids))
    w.worker.predict_all(ids)


def batch_finished(w, done: int, total: int, cancelled: bool, failures: int) -> None:
    w.status.batch.hide()
    show_next(w)
    word = "cancelled after" if cancelled else "finished:"
    w.status.showMessage(f"Predict all {word} {done} of {total} images"
                         + (f", {failures} failed (see the list's tooltips)" if failures else ""), 15000)


def show_next(w):
    """Marks the image N would open now, with why, in its tooltip in the list (after each batch of
    predictions, since their uncertainty decides); returns the choice."""
    if w.project is None:
        return None
    chosen = choose_next(w.project, w.current_id)
    if chosen is not None:
        w.image_list.model.set_reason(chosen.image_id, f"Next (N): {chosen.reason}")
    return chosen


def next_to_label(w) -> None:
    """Jumps to the uncorrected image that teaches the model most (workspace.next_image), says why in
    the status line and in the image's tooltip in the list."""
    if w.project is None:
        return
    chosen = show_next(w)
    if chosen is None:
        w.status.showMessage("No uncorrected image left for the model to rank.", 5000)
        return
    w.image_list.select(chosen.image_id)
    w.status.showMessage(f"Next: {chosen.reason}", 10000)
