"""The sample project (Help > Create Sample Project): generated, licence-clean images with their true
masks in ground_truth/ (for `fcn-studio eval` and the import of the truth). Everything is checked before
anything is written, so a folder that is already a project, or holds files, is never touched."""

from __future__ import annotations

from pathlib import Path

from fcn_studio.core.sample_data import SAMPLE_LABELS, write_sample_images
from fcn_studio.project.errors import ProjectError
from fcn_studio.project.project import Project

SAMPLE_IMAGES = 16


def create_sample_project(root: str | Path, count: int = SAMPLE_IMAGES) -> Path:
    """Writes the sample into `root` (new, or an empty folder) and makes it a project; returns `root`."""
    root = Path(root)
    if Project.is_project(root):
        raise ProjectError(f"{root} is already a project; choose another folder for the sample")
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise ProjectError(f"{root} is not empty; choose a new or empty folder for the sample")
    write_sample_images(root / "images", count, with_masks_in=root / "ground_truth")
    project = Project.create(root, SAMPLE_LABELS)
    try:
        project.add_images([root / "images"])
    finally:
        project.close()
    return root
