"""Mask files are read for what they are: class-id files as ids (preferred to colour files of the same
image), colour files only through the class colours, VOC masks saved as RGB through their colours."""

import json

import numpy as np
from PIL import Image

from fcn_studio.core.labels import LabelSet
from fcn_studio.core.mask_io import write_mask
from fcn_studio.project.formats import import_into
from fcn_studio.project.project import Project

LABELS = LabelSet(("background", "cat", "dog"), ((0, 0, 0), (200, 30, 30), (30, 30, 200)))
IDS = np.array([[0, 1, 1, 2], [2, 2, 255, 0], [1, 0, 0, 2]], np.uint8)


def colours(ids, labels=LABELS):
    palette = np.array(labels.palette(), np.uint8).reshape(256, 3)
    return palette[ids]


def folder(root, files: dict, classes=LABELS):
    """A Cityscapes-style folder: images/a.png, the given files in labels/, and classes.json."""
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    Image.fromarray(np.zeros((*IDS.shape, 3), np.uint8)).save(root / "images" / "a.png")
    for name, (array, mode) in files.items():
        Image.fromarray(array, mode=mode).save(root / "labels" / name)
    (root / "classes.json").write_text(json.dumps(classes.to_dict()))
    return root


def imported(tmp_path, src, fmt="masks"):
    project = Project.create(tmp_path / "p", LABELS)
    report = import_into(project, src, fmt)
    recs = project.images()
    return (project.load_mask(recs[0].id) if report.imported else None), report


def test_label_ids_are_preferred_to_the_colour_file_beside_them(tmp_path):
    wrong = np.zeros_like(IDS)  # a colour file that disagrees: it must not be the one read
    src = folder(tmp_path / "m", {"a_labelIds.png": (IDS, "L"), "a_color.png": (colours(wrong), "RGB")})
    mask, report = imported(tmp_path, src)
    assert not report.problems, report.problems
    assert np.array_equal(mask, IDS)


def test_a_colour_file_alone_is_read_through_the_class_colours(tmp_path):
    src = folder(tmp_path / "m", {"a_color.png": (colours(IDS), "RGB")})
    mask, report = imported(tmp_path, src)
    assert not report.problems, report.problems
    assert np.array_equal(mask, IDS)


def test_a_colour_file_saved_as_a_palette_image_is_refused_not_read_as_ids(tmp_path):
    img = Image.fromarray(colours(IDS), "RGB").quantize(colors=8)  # palette indices are not class ids
    src = folder(tmp_path / "m", {})
    img.save(src / "labels" / "a_color.png")
    mask, report = imported(tmp_path, src)
    assert mask is None and report.imported == 0
    assert len(report.problems) == 1 and "a_color.png: a colour mask (_color) saved as a P image" in report.problems[0]


def test_the_source_ignore_index_is_unlabelled_not_an_unknown_class(tmp_path):
    source = LabelSet(LABELS.names, LABELS.colors, ignore_index=200)
    ids = np.where(IDS == 255, 200, IDS).astype(np.uint8)
    src = folder(tmp_path / "m", {"a_labelIds.png": (ids, "L")}, classes=source)
    mask, report = imported(tmp_path, src)
    assert not report.problems, report.problems
    assert np.array_equal(mask, IDS)


def voc_folder(root, write):
    (root / "JPEGImages").mkdir(parents=True)
    (root / "SegmentationClass").mkdir()
    Image.fromarray(np.zeros((*IDS.shape, 3), np.uint8)).save(root / "JPEGImages" / "a.jpg")
    write(root / "SegmentationClass" / "a.png")
    (root / "labelmap.txt").write_text("".join(f"{n}:{r},{g},{b}::\n" for n, (r, g, b)
                                               in zip(LABELS.names, LABELS.colors, strict=True)))
    return root


def test_voc_masks_as_palette_or_as_rgb_colours_read_the_same(tmp_path):
    palette = voc_folder(tmp_path / "v1", lambda p: write_mask(p, IDS, LABELS))
    rgb = voc_folder(tmp_path / "v2", lambda p: Image.fromarray(colours(IDS), "RGB").save(p))
    for k, src in enumerate((palette, rgb)):
        mask, report = imported(tmp_path / str(k), src, "voc")
        assert not report.problems, report.problems
        assert np.array_equal(mask, IDS)


def test_a_voc_rgb_mask_with_colours_of_no_class_is_reported(tmp_path):
    odd = colours(IDS)
    odd[0, 0] = (1, 2, 3)
    src = voc_folder(tmp_path / "v", lambda p: Image.fromarray(odd, "RGB").save(p))
    mask, report = imported(tmp_path, src, "voc")
    assert mask is None and len(report.problems) == 1
    assert "a.png: colours not in the label set: #010203" in report.problems[0]
