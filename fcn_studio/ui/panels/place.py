"""The person's place in each project: the image last worked on, the list's filter and the zoom (with
the point in the middle of the view). Kept in the settings per project folder, so a project reopens
where it was left."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QPointF, QSettings

if TYPE_CHECKING:
    from fcn_studio.ui.canvas.view import CanvasView
    from fcn_studio.ui.panels.image_list import ImageListPanel
    from fcn_studio.workspace import Workspace


def _key(project) -> str:
    return "places/" + hashlib.sha1(str(project.root.resolve()).encode()).hexdigest()[:16]


class Place(QObject):
    """Built from the workspace, the settings, and the image list and canvas whose state it keeps."""

    def __init__(self, workspace: Workspace, settings: QSettings, image_list: ImageListPanel,
                 canvas: CanvasView) -> None:
        super().__init__(canvas)
        self.workspace, self.settings, self.image_list, self.canvas = workspace, settings, image_list, canvas
        self.pending: dict | None = None  # a place being restored: nothing is remembered meanwhile
        image_list.state_box.currentIndexChanged.connect(lambda _i: self.remember())
        canvas.zoom_changed.connect(self._zoom_changed)
        canvas.horizontalScrollBar().valueChanged.connect(lambda _v: self.remember())
        canvas.verticalScrollBar().valueChanged.connect(lambda _v: self.remember())
        workspace.current_changed.connect(lambda _i: self.remember())

    def _project(self):
        project = self.workspace.project
        return None if project is None or project.temporary or project.closed else project

    def remember(self) -> None:
        project, canvas = self._project(), self.canvas
        if project is None or self.pending is not None or self.workspace.current_id is None:
            return
        place = {"image": int(self.workspace.current_id), "filter": self.image_list.filter_state()}
        if canvas.image_item.source is not None and self.workspace.editing.current_id == self.workspace.current_id:
            centre = canvas.mapToScene(canvas.viewport().rect().center())
            place.update(zoom=0.0 if canvas._fitted else float(canvas.zoom), x=centre.x(), y=centre.y())  # 0: fitted
        else:  # still opening: the zoom stays what it was
            old = self._saved(project)
            place.update({k: old[k] for k in ("zoom", "x", "y") if k in old and old.get("image") == place["image"]})
        self.settings.setValue(_key(project), place)

    def _saved(self, project) -> dict:
        value = self.settings.value(_key(project))
        return value if isinstance(value, dict) else {}

    def restore(self) -> bool:
        """Selects the image last worked on in the project just opened, under its filter; its zoom
        follows once it is shown. False when there is no place to go back to."""
        project = self._project()
        place = self._saved(project) if project is not None else {}
        try:
            image_id = int(place.get("image"))
        except (TypeError, ValueError):
            return False
        if self.image_list.model.record(image_id) is None:
            return False
        self.pending = place
        self.image_list.set_filter_state(str(place.get("filter", "all")))
        if not self.image_list.select(image_id):
            self.pending = None
            return False
        return True

    def _zoom_changed(self, _zoom: float) -> None:
        place, canvas = self.pending, self.canvas
        if place is None:
            self.remember()
            return
        if canvas.image_item.source is None or self.workspace.current_id != int(place["image"]):
            if self.workspace.current_id is not None and self.workspace.current_id != int(place["image"]):
                self.pending = None  # the person went elsewhere first
            return
        self.pending = None  # the image is on screen, fitted: now its zoom and centre
        try:
            zoom, x, y = float(place["zoom"]), float(place["x"]), float(place["y"])
        except (KeyError, TypeError, ValueError):
            return
        if zoom > 0:
            canvas.set_zoom(zoom)
        canvas.centerOn(QPointF(x, y))
        self.remember()
