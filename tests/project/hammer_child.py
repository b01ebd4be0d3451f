"""Run by the save hammer as a separate process: either a model that keeps saving predictions for
every image, or a person (or an import) that saves one mask per image, logging each save."""

import sys
import time

import numpy as np

from fcn_studio.project.project import Project

SHAPE = (48, 64)


def main(root: str, role: str, seconds: float, log_path: str) -> None:
    project = Project.open(root)
    ids = [r.id for r in project.images()]
    rng = np.random.default_rng(abs(hash(role)) % 2**32)
    end = time.time() + seconds
    if role.startswith("model"):
        while time.time() < end:
            for i in ids:
                pred = np.full(SHAPE, 1, np.uint8)  # a prediction is all 1
                project.save_prediction(i, pred, np.ones(SHAPE, np.float32), float(rng.random()))
    else:
        with open(log_path, "a", buffering=1) as log:
            for i in ids:
                time.sleep(float(rng.uniform(0, seconds / len(ids))))
                project.save_mask(i, np.full(SHAPE, 2 + i % 50, np.uint8))  # a person's mask is 2..51
                log.write(f"{i}\n")
    project.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4])
