"""The person's place in each project: the image last worked on, the list's filter and the zoom (with
the point in the middle of the view). Kept in the settings per project folder, so a project reopens
where it was left."""

from __future__ import annotations

import hashlib

from PySide6.QtCore import QObject, QPointF


def _key(project) -> str:
    return "places/" + hashlib.sha1(str(project.root.resolve()).encode()).hexdigest()[:16]


class Place(QObject):
    """Built on the window: its workspace, image list, canvas and settings."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.w = window
        self.pending: dict | None = None  # a place being restored: nothing is remembered meanwhile
        window.image_list.state_box.currentIndexChanged.connect(lambda _i: self.remember())
        window.canvas.zoom_changed.connect(self._zoom_changed)
        window.canvas.horizontalScrollBar().valueChanged.connect(lambda _v: self.remember())
        window.canvas.verticalScrollBar().valueChanged.connect(lambda _v: self.remember())
        window.workspace.current_changed.connect(lambda _i: self.remember())

    def _project(self):
        project = self.w.project
        return None if project is None or project.temporary or project.closed else project

    def remember(self) -> None:
        project, canvas = self._project(), self.w.canvas
        if project is None or self.pending is not None or self.w.current_id is None:
            return
        place = {"image": int(self.w.current_id), "filter": self.w.image_list.filter_state()}
        if canvas.image_item.source is not None and self.w.session.current_id == self.w.current_id:
            centre = canvas.mapToScene(canvas.viewport().rect().center())
            place.update(zoom=0.0 if canvas._fitted else float(canvas.zoom), x=centre.x(), y=centre.y())  # 0: fitted
        else:  # still opening: the zoom stays what it was
            old = self._saved(project)
            place.update({k: old[k] for k in ("zoom", "x", "y") if k in old and old.get("image") == place["image"]})
        self.w.settings.setValue(_key(project), place)

    def _saved(self, project) -> dict:
        value = self.w.settings.value(_key(project))
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
        if self.w.image_list.model.record(image_id) is None:
            return False
        self.pending = place
        self.w.image_list.set_filter_state(str(place.get("filter", "all")))
        if not self.w.image_list.select(image_id):
            self.pending = None
            return False
        return True

    def _zoom_changed(self, _zoom: float) -> None:
        place, canvas = self.pending, self.w.canvas
        if place is None:
            self.remember()
            return
        if canvas.image_item.source is None or self.w.current_id != int(place["image"]):
            if self.w.current_id is not None and self.w.current_id != int(place["image"]):
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
