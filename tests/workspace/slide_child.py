"""Run by the slide-editing crash test as a separate process: paints strokes on a slide of the project
with a writer that never gets to write them (its delay is an hour), prints "ready" once they are all
journalled, and waits to be killed. `STROKES` is shared with the test."""

import sys
import threading
from pathlib import Path

STROKES = [([(100.0, 100.0), (900.0, 140.0)], 40, 2), ([(3000.0, 2500.0), (3100.0, 2900.0)], 60, 3)]


def main(root: str) -> None:
    from fcn_studio.project.project import Project
    from fcn_studio.workspace.slide_editing import SlideEditing

    project = Project(Path(root))
    slide = SlideEditing(project, 1, (4000, 5000), autosave_delay=3600)
    for points, diameter, value in STROKES:
        slide.paint(points, diameter, value)
    slide.undo()
    slide.redo()
    print("ready", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main(sys.argv[1])
