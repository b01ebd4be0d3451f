"""The model in use and the model being loaded, for the open project. A request carries the project
generation it was made in; a result for an older request or another project is dropped, and the
project's model changes only when a load succeeds (a file that does not load never becomes the model
that runs compare against). Making a model (the default one, New Model, a downloaded encoder) is one
function here, with a file name that is never reused."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fcn_studio.core.labels import LabelSet

DEFAULT_NOTE = "default model"


@dataclass(frozen=True, eq=False)
class ModelRequest:
    """One request to load a checkpoint; `then` runs once it is in use and the classes are settled."""
    path: Path
    generation: int
    then: Callable[[], None] | None = None


def new_model_path(models: Path, stem: str) -> Path:
    """A file name no earlier model of the project has: a default model made for one project never
    overwrites (or is mistaken for) another's, and a late result names exactly the file it made."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in range(1000):
        path = models / (f"{stem}-{stamp}.safetensors" if n == 0 else f"{stem}-{stamp}-{n}.safetensors")
        if not path.exists():
            return path
    raise RuntimeError(f"no free model file name in {models}")


def make_model_file(target: Path, labels: LabelSet, arch: str | None = None, backbone: str | None = None) -> str:
    """Builds a model with the project's classes (ImageNet encoder from the local caches when there)
    and saves it; returns the note that says how it started. Runs off the GUI thread."""
    from fcn_studio.model.checkpoint import save_checkpoint  # noqa: PLC0415 (torch only when a model is made)
    from fcn_studio.model.factory import new_model  # noqa: PLC0415

    kwargs = {} if arch is None else {"arch": arch, "backbone": backbone}
    model, info, note = new_model(labels=labels, **kwargs)
    save_checkpoint(target, model, info)
    return note
