"""COCO annotations decode whichever way they are stored: polygons, and crowd regions (iscrowd=1) as
uncompressed RLE (counts as a list) or compressed RLE; what cannot be decoded is reported."""

import json

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils

from fcn_studio.core.labels import LabelSet
from fcn_studio.project.formats import import_into
from fcn_studio.project.project import Project

H, W = 12, 16


def region():
    m = np.zeros((H, W), np.uint8)
    m[2:6, 3:9] = 1
    m[7:11, 10:14] = 1
    return m


def uncompressed_rle(m):
    """Column-major run lengths starting with a run of zeros, as COCO writes crowd regions."""
    flat = m.flatten(order="F")
    counts, current, run = [], 0, 0
    for v in flat:
        if v != current:
            counts.append(run)
            current, run = v, 0
        run += 1
    counts.append(run)
    return {"counts": counts, "size": [H, W]}


def compressed_rle(m):
    rle = mask_utils.encode(np.asfortranarray(m))
    return {"counts": rle["counts"].decode("ascii"), "size": [H, W]}


POLYGONS = [[3, 2, 9, 2, 9, 6, 3, 6], [10, 7, 14, 7, 14, 11, 10, 11]]  # pixel corners of the two boxes


def coco_folder(root, annotations):
    (root / "images").mkdir(parents=True)
    Image.fromarray(np.zeros((H, W, 3), np.uint8)).save(root / "images" / "a.png")
    doc = {"images": [{"id": 1, "file_name": "a.png", "height": H, "width": W}],
           "categories": [{"id": 1, "name": "background"}, {"id": 2, "name": "cat"}],
           "annotations": [{"id": k + 1, "image_id": 1, "category_id": 2, "iscrowd": crowd, "segmentation": seg}
                           for k, (crowd, seg) in enumerate(annotations)]}
    (root / "annotations.json").write_text(json.dumps(doc))


def imported(tmp_path, annotations):
    coco_folder(tmp_path / "c", annotations)
    project = Project.create(tmp_path / "p", LabelSet(("background", "cat")))
    report = import_into(project, tmp_path / "c", "coco")
    return project.load_mask(project.images()[0].id), report


@pytest.mark.parametrize("kind", ["polygons", "uncompressed RLE (iscrowd)", "compressed RLE (iscrowd)"])
def test_every_coco_segmentation_kind_decodes(tmp_path, kind):
    seg = {"polygons": (0, POLYGONS), "uncompressed RLE (iscrowd)": (1, uncompressed_rle(region())),
           "compressed RLE (iscrowd)": (1, compressed_rle(region()))}[kind]
    mask, report = imported(tmp_path, [seg])
    assert not report.problems, report.problems
    expected = np.where(region() == 1, 1, 255)
    assert np.array_equal(mask, expected)


def test_undecodable_annotations_are_reported_and_the_others_kept(tmp_path):
    wrong_size = compressed_rle(np.ones((H, W), np.uint8))
    wrong_size["size"] = [H + 1, W]
    mask, report = imported(tmp_path, [
        (0, [[1, 1, 5, 1], POLYGONS[0]]),  # a 4-number "polygon" first: pycocotools would take the list as boxes
        (1, wrong_size),
        (1, {"counts": [H * W]}),  # no size
        (0, [POLYGONS[1]]),
    ])
    assert np.array_equal(mask, np.where(region() == 1, 1, 255))  # both boxes, from the good polygons
    text = "\n".join(report.problems)
    assert "annotation 1: a polygon with 4 coordinates" in text
    assert "annotation 2 left out: its RLE is 16x13 but the image is 16x12" in text
    assert "annotation 3 left out: its segmentation is neither polygons nor RLE" in text
    assert len(report.problems) == 3
