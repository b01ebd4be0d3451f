"""The one shape of a progress report below the window: `progress(done, total)`.

`done` counts the work finished so far (images, files, or bytes for a download) and grows towards
`total`, which is None while it is unknown (a server that sends no length). It is called on the
worker's thread, as often as the work likes (each image, each chunk): a receiver that draws throttles
itself, and one in a window forwards it to the GUI thread (a Qt signal). Exports, imports, batch
prediction, evaluation and `model get` all take it; the command line's one bar is cli.progress."""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[int, "int | None"], None]
