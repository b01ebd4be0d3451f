"""A tiny observer, so Qt-free objects (the workspace, the keep-learning loop) can tell the window (or a
test, or the CLI) what changed, the way napari's layer models emit events that their Qt controls
subscribe to."""

from __future__ import annotations

from collections.abc import Callable


class Event:
    def __init__(self) -> None:
        self._listeners: list[Callable] = []

    def connect(self, listener: Callable) -> None:
        self._listeners.append(listener)

    def disconnect(self, listener: Callable) -> None:
        self._listeners.remove(listener)

    def emit(self, *args) -> None:
        for listener in list(self._listeners):
            listener(*args)


def call_now(fn: Callable[[], None]) -> None:
    """The default dispatcher: run where the news arrives (tests, the CLI). The window passes one that
    posts to the GUI thread."""
    fn()
