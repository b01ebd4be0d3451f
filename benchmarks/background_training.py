"""Keep learning's backend training in the background while a benchmark measures the GUI (issue 11: the
machine stays usable while it learns). The same Qt-free object and command the window uses
(training.keep_learning), on a sample project with 10 corrected images, at the priority and thread count
the app gives it; measurements start once it is taking training steps."""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from fcn_studio.core.mask_io import read_mask
from fcn_studio.core.sample_data import SAMPLE_LABELS, write_sample_images
from fcn_studio.project.project import Project
from fcn_studio.training.keep_learning import KeepLearning


@contextmanager
def training_in_background(backbone: str = "mobilenet_v3_large", timeout: float = 180.0) -> Iterator[KeepLearning]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_sample_images(root / "images", 16, with_masks_in=root / "truth")
        project = Project.create(root / "proj", SAMPLE_LABELS)
        project.add_images([root / "images"])
        for record in sorted(project.images(), key=lambda r: r.path)[:10]:
            name = Path(record.path).stem + ".png"
            project.save_mask(record.id, np.asarray(read_mask(root / "truth" / name, labels=SAMPLE_LABELS)))
        project.close()
        stepping = threading.Event()
        loop = KeepLearning(root / "proj", train_args=["--device", "cpu", "--backbone", backbone, "--weights", "none"])
        loop.backend_event.connect(lambda e: e.get("event") == "progress" and stepping.set())
        loop.start()
        try:
            if not stepping.wait(timeout):
                raise TimeoutError(f"the training backend took no step in {timeout:.0f} s ({loop.status})")
            yield loop
        finally:
            loop.stop()
