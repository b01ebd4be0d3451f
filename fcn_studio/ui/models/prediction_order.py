"""Predict All and its relatives in the window: the order is the workspace's rule
(workspace.prediction_order, workspace.next_image); this room hands it to the model's worker, reports
the batch and says in the list which image N opens next, and why."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fcn_studio.workspace.next_image import next_to_label as choose_next
from fcn_studio.workspace.prediction_order import uncorrected_order

if TYPE_CHECKING:
    from fcn_studio.ui.models.inference_worker import InferenceWorker
    from fcn_studio.ui.panels.image_list import ImageListPanel
    from fcn_studio.ui.panels.status import BatchProgress
    from fcn_studio.ui.shell import Shell
    from fcn_studio.workspace import Workspace


class PredictionOrder:
    """Built from (workspace, shell), the model's worker, the status bar's batch progress and the image
    list (where N goes, and where the reason shows)."""

    def __init__(self, workspace: Workspace, shell: Shell, worker: InferenceWorker, batch: BatchProgress,
                 image_list: ImageListPanel) -> None:
        self.workspace, self.shell, self.worker, self.batch, self.image_list = (workspace, shell, worker, batch,
                                                                                image_list)
        worker.batch_progress.connect(batch.progress)
        worker.batch_finished.connect(self._batch_finished)
        batch.cancel_requested.connect(worker.cancel_batch)

    def predict_all(self, screen_first: bool = False) -> None:
        """Queues the images no person has labelled, least certain first; with `screen_first`, the image
        on screen (if no person touched it) and the next few in the list go before the rest."""
        ws = self.workspace
        if ws.project is None or self.worker.predictor is None:
            self.shell.error("Predict all", "Open a project and load a model first.")
            return
        ids = uncorrected_order(ws.project, ws.current_id, screen_first, ws.editing.untouched)
        if not ids:
            self.shell.status("Every image has been corrected by a person; nothing to predict.", 8000)
            return
        self.batch.start(len(ids))
        self.worker.predict_all(ids)

    def _batch_finished(self, done: int, total: int, cancelled: bool, failures: int) -> None:
        self.batch.hide()
        self.show_next()
        word = "cancelled after" if cancelled else "finished:"
        self.shell.status(f"Predict all {word} {done} of {total} images"
                          + (f", {failures} failed (see the list's tooltips)" if failures else ""), 15000)

    def show_next(self):
        """Marks the image N would open now, with why, in its tooltip in the list (after each batch of
        predictions, since their uncertainty decides); returns the choice."""
        ws = self.workspace
        if ws.project is None:
            return None
        chosen = choose_next(ws.project, ws.current_id)
        if chosen is not None:
            self.image_list.model.set_reason(chosen.image_id, f"Next (N): {chosen.reason}")
        return chosen

    def next_to_label(self) -> None:
        """Jumps to the uncorrected image that teaches the model most (workspace.next_image), says why in
        the status line and in the image's tooltip in the list."""
        chosen = self.show_next()
        if chosen is None:
            if self.workspace.project is not None:
                self.shell.status("No uncorrected image left for the model to rank.", 5000)
            return
        self.image_list.select(chosen.image_id)
        self.shell.status(f"Next: {chosen.reason}", 10000)
