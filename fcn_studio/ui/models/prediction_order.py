"""Predict All and its relatives in the window: the order is the workspace's rule
(workspace.prediction_order); this room hands it to the model's worker and reports the batch."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fcn_studio.workspace.prediction_order import least_certain_other, uncorrected_order

if TYPE_CHECKING:
    from fcn_studio.ui.models.inference_worker import InferenceWorker
    from fcn_studio.ui.panels.image_list import ImageListPanel
    from fcn_studio.ui.panels.status import BatchProgress
    from fcn_studio.ui.shell import Shell
    from fcn_studio.workspace import Workspace


class PredictionOrder:
    """Built from (workspace, shell), the model's worker, the status bar's batch progress and the image
    list (where "least certain" goes)."""

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
        word = "cancelled after" if cancelled else "finished:"
        self.shell.status(f"Predict all {word} {done} of {total} images"
                          + (f", {failures} failed (see the list's tooltips)" if failures else ""), 15000)

    def next_to_label(self) -> None:
        """Jumps to the uncorrected image the model is least sure of."""
        ws = self.workspace
        if ws.project is None:
            return
        chosen = least_certain_other(ws.project, ws.current_id)
        if chosen is None:
            self.shell.status("No uncorrected image left for the model to rank.", 5000)
            return
        self.image_list.select(chosen)
