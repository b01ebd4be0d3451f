"""One split policy: an export's train/val lists are the project's stored split, the one training and
evaluation use, so an exported val set is the one models were chosen on."""

import numpy as np
import pytest
from PIL import Image

from fcn_studio.core.labels import LabelSet
from fcn_studio.core.splits import assign_sides
from fcn_studio.project.formats import ExportOptions, export_project
from fcn_studio.project.project import Project


@pytest.fixture
def project(tmp_path):
    (tmp_path / "img").mkdir()
    for i in range(16):
        Image.fromarray(np.full((8, 10, 3), i * 10, np.uint8)).save(tmp_path / "img" / f"im{i:02d}.png")
    p = Project.create(tmp_path / "proj", LabelSet(("background", "cat")))
    p.add_images([tmp_path / "img"])
    yield p
    p.close()


def lists(out):
    sets = out / "ImageSets" / "Segmentation"
    return {side: set((sets / f"{side}.txt").read_text().split()) for side in ("train", "val")}


def test_the_exported_val_list_is_the_projects_stored_val_set(project, tmp_path):
    recs = project.images()
    for rec in recs[:12]:
        project.save_mask(rec.id, np.zeros((8, 10), np.uint8), "reviewed")
    stored = project.training_split(0.5)  # the split training made, with its own share
    assert set(stored.values()) == {"train", "val"}
    export_project(project, "voc", tmp_path / "voc", ExportOptions(val_fraction=0.2))
    by_id = {r.id: r for r in recs}
    got = lists(tmp_path / "voc")
    assert got["val"] == {by_id[i].name.split(".")[0] for i, side in stored.items() if side == "val"}
    assert got["train"] == {by_id[i].name.split(".")[0] for i, side in stored.items() if side == "train"}


def test_images_outside_the_split_get_the_side_the_project_would_give_them(project, tmp_path):
    recs = project.images()
    for rec in recs[:8]:
        project.save_mask(rec.id, np.zeros((8, 10), np.uint8), "corrected")
    for rec in recs[8:]:
        assert project.save_prediction(rec.id, np.ones((8, 10), np.uint8), np.ones((8, 10), np.float32), 0.5)
    export_project(project, "masks", tmp_path / "all", ExportOptions(which="all", val_fraction=0.5))
    val = set((tmp_path / "all" / "val.txt").read_text().split())
    predicted_val = {rec.name.split(".")[0] for rec in recs[8:]} & val
    assert 0 < len(predicted_val) < 8  # both sides occur, so the check below means something
    known = {str(k): v for k, v in project.training_split(0.5).items()}
    policy = assign_sides(known, [str(r.id) for r in recs[8:]], 0.5)  # the project's policy, in id order
    for rec in recs[8:]:
        assert (rec.name.split(".")[0] in val) == (policy[str(rec.id)] == "val")
    project.save_mask(recs[8].id, np.zeros((8, 10), np.uint8), "reviewed")  # a person labels the next one
    assert project.training_split(0.5)[recs[8].id] == policy[str(recs[8].id)]  # it keeps its side


def test_exporting_all_includes_predicted_images_from_their_own_file(tmp_path):
    import numpy as np
    from PIL import Image

    from fcn_studio.project.formats import ExportOptions, export_project
    from fcn_studio.project.project import Project

    (tmp_path / "img").mkdir()
    for i in range(2):
        Image.new("RGB", (8, 6)).save(tmp_path / "img" / f"{i}.png")
    project = Project.create(tmp_path / "p")
    project.add_images([tmp_path / "img"])
    a, b = project.images()
    project.save_mask(a.id, np.full((6, 8), 1, np.uint8))
    project.save_prediction(b.id, np.full((6, 8), 2, np.uint8), np.ones((6, 8), np.float32), 0.5)
    assert export_project(project, "masks", tmp_path / "human", ExportOptions(which="human")) == 1
    assert export_project(project, "masks", tmp_path / "all", ExportOptions(which="all")) == 2
