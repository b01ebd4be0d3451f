"""Mask editing without Qt (as napari keeps its Labels layer apart from its controls): the editor,
its undo history, and the tools. The canvas only feeds them coordinates."""
