"""Real COCO files: the COCO team's val2017 annotations sample (compressed RLE, 133 thing and stuff
categories, crowd regions) round-trips with every annotated pixel's class kept, from images/ and from
COCO's own layout (annotations/instances_val2017.json beside val2017/); labelme2coco's output (file
names with folders, a polygon past the edge) imports as labelme means it; and a COCO import that
writes no mask leaves the project as it was."""

import json
import shutil

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils

from fcn_studio.cli import main
from fcn_studio.core.labels import LabelSet
from fcn_studio.project.formats import import_into
from fcn_studio.project.project import Project
from tests.real_data import coco_sample, labelme_examples


def painted(doc: dict) -> dict[str, np.ndarray]:
    """Each image's category names, annotations painted in file order ('' where none is)."""
    names = {c["id"]: c["name"] for c in doc["categories"]}
    out = {}
    for img in doc["images"]:
        h, w = img["height"], img["width"]
        canvas = np.full((h, w), "", dtype=object)
        for ann in doc["annotations"]:
            if ann["image_id"] != img["id"]:
                continue
            seg = ann["segmentation"]
            rle = mask_utils.merge(mask_utils.frPyObjects(seg, h, w)) if isinstance(seg, list) else (
                mask_utils.frPyObjects(seg, h, w) if isinstance(seg["counts"], list) else seg)
            canvas[mask_utils.decode(rle).astype(bool)] = names[ann["category_id"]]
        out[img["file_name"].rsplit("/", 1)[-1].rsplit(".", 1)[0]] = canvas
    return out


def with_photos(doc: dict, folder) -> None:
    """Stand-ins for the two photos (not in the sample), the sizes the file gives."""
    folder.mkdir(parents=True, exist_ok=True)
    for img in doc["images"]:
        rgb = np.random.default_rng(img["id"]).integers(0, 255, (img["height"], img["width"], 3), dtype=np.uint8)
        Image.fromarray(rgb).save(folder / img["file_name"], quality=90)


@pytest.mark.parametrize("layout", ["images", "coco"])
def test_the_coco_sample_round_trips_with_every_annotated_pixels_class(tmp_path, layout, capsys):
    doc = json.loads(coco_sample().read_text())
    root = tmp_path / "dataset"
    if layout == "images":
        with_photos(doc, root / "images")
        shutil.copy(coco_sample(), root / "annotations.json")
    else:  # as the COCO team ships val2017
        with_photos(doc, root / "val2017")
        (root / "annotations").mkdir()
        shutil.copy(coco_sample(), root / "annotations" / "instances_val2017.json")
    project = Project.create(tmp_path / "p", LabelSet(("background",)))
    report = import_into(project, root)
    assert report.imported == 2 and not report.problems, report.problems
    assert any("3 crowd region(s) (iscrowd 1)" in n and "iscrowd 0" in n for n in report.notes)
    project.close()
    out = tmp_path / "export"
    assert main(["export", str(tmp_path / "p"), "--format", "coco", "--out", str(out)]) == 0
    assert "iscrowd 0: a semantic mask has no crowd flag" in capsys.readouterr().out
    before, after = painted(doc), painted(json.loads((out / "annotations.json").read_text()))
    assert sorted(before) == sorted(after)
    for name, original in before.items():
        annotated = original != ""
        assert annotated.mean() > 0.5
        assert (after[name][annotated] == original[annotated]).all(), name
        assert (after[name][~annotated] == "").all()


def test_labelme2coco_output_imports_as_labelme_means_it(tmp_path, capsys):
    """File names with folders (JPEGImages/x.jpg), category 0 `_background_` standing for what no
    annotation covers, and annotation 9 reaching past its image: a note, not a failure."""
    Project.create(tmp_path / "p", LabelSet(("background",))).close()
    source = labelme_examples() / "instance_segmentation" / "data_dataset_coco"
    assert main(["import", str(tmp_path / "p"), str(source)]) == 0
    captured = capsys.readouterr()
    assert "2011_000006.jpg: annotation 9 reaches past the image's edge; clipped" in captured.err
    assert "3 masks imported" in captured.out
    project = Project.open(tmp_path / "p")
    assert "_background_" not in project.labels.names  # it is the project's background
    for rec in project.images():
        assert (project.load_mask(rec.id) == 0).mean() > 0.3  # the uncovered pixels
    project.close()


def test_images_elsewhere_are_found_with_images_dir(tmp_path):
    doc = json.loads(coco_sample().read_text())
    with_photos(doc, tmp_path / "photos")
    (tmp_path / "ann").mkdir()
    shutil.copy(coco_sample(), tmp_path / "ann" / "instances_val2017.json")
    project = Project.create(tmp_path / "p", LabelSet(("background",)))
    missing = import_into(project, tmp_path / "ann", "coco")
    assert missing.imported == 0 and all("--images DIR" in p for p in missing.problems)
    assert import_into(project, tmp_path / "ann", "coco", images=tmp_path / "photos").imported == 2


def test_an_import_that_writes_no_mask_leaves_the_project_as_it_was(tmp_path):
    """The sample's photos are not there: nothing comes in, and none of its 133 classes either."""
    (tmp_path / "d" / "annotations").mkdir(parents=True)
    shutil.copy(coco_sample(), tmp_path / "d" / "annotations" / "instances_val2017.json")
    project = Project.create(tmp_path / "p", LabelSet.voc())
    report = import_into(project, tmp_path / "d")
    assert report.imported == 0 and len(report.problems) == 2
    assert project.labels == LabelSet.voc() and project.images() == [] and report.added_classes == []
