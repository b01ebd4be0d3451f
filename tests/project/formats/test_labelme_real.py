"""labelme's own example projects read as labelme means them, checked against what labelme's own
converters made of them (labelme2voc, labelme_json_to_dataset, shipped beside them in its sdist): what
no shape covers is `_background_`, an image inside the JSON (imageData) is the image, a shape past the
edge is clipped with a note; and a labelme export reads back in labelme's own drawing code to the
project's label maps."""

import base64
import io
import json
import shutil

import numpy as np
import pytest
from PIL import Image

from fcn_studio.cli import main
from fcn_studio.core.labels import LabelSet
from fcn_studio.project.formats import ExportOptions, export_project, import_into
from fcn_studio.project.project import Project
from tests.real_data import labelme_examples, labelme_shapes_to_label

EXAMPLES = {  # folder to import, labelme's own label maps, the names of their values
    "semantic_segmentation": ("data_annotated", "data_dataset_voc/SegmentationClass",
                              "data_dataset_voc/class_names.txt"),
    "instance_segmentation": ("data_annotated", "data_dataset_voc/SegmentationClass",
                              "data_dataset_voc/class_names.txt"),
    "tutorial": ("apc2016_obj3.json", "apc2016_obj3", "apc2016_obj3/label_names.txt"),
}


def class_names(mask: np.ndarray, names) -> np.ndarray:
    """Each pixel's class name ('' for unlabelled); labelme's `_background_` is everyone's background."""
    table = np.array([("background" if n == "_background_" else n) for n in names] + [""] * (256 - len(names)),
                     dtype=object)
    return table[mask]


def agreement(ours: dict[str, np.ndarray], our_names, theirs: dict[str, np.ndarray], their_names) -> float:
    assert sorted(ours) == sorted(theirs)
    same = sum(int((class_names(ours[k], our_names) == class_names(theirs[k], their_names)).sum()) for k in ours)
    return same / sum(m.size for m in ours.values())


def label_maps(folder) -> dict[str, np.ndarray]:
    return {p.stem: np.array(Image.open(p)) for p in sorted(folder.glob("*.png"))
            if p.stem not in ("img", "label_viz")}


@pytest.mark.parametrize("example", EXAMPLES)
def test_labelmes_examples_import_and_export_to_voc_as_labelmes_own_converters_do(tmp_path, example, capsys):
    folder = labelme_examples() / example
    source, reference, names = EXAMPLES[example]
    project = Project.create(tmp_path / "p", LabelSet(("background",)))
    report = import_into(project, folder / source)
    assert not report.problems, report.problems
    assert any("no shape covers are 'background'" in n for n in report.notes)
    export_project(project, "voc", tmp_path / "voc", ExportOptions())
    ours = label_maps(tmp_path / "voc" / "SegmentationClass")
    theirs = label_maps(folder / reference)
    if example == "tutorial":  # labelme_json_to_dataset names its label map label.png
        theirs = {"apc2016_obj3": theirs.pop("label")}
    their_names = (folder / names).read_text().split("\n")
    share = agreement(ours, project.labels.names, theirs, [n.strip() for n in their_names if n.strip()])
    with capsys.disabled():
        print(f"\nlabelme {example}: {100 * share:.3f}% of pixels as labelme's own converter has them")
    assert share >= 0.995


def test_an_image_inside_the_file_is_the_image(tmp_path):
    """labelme reads imageData first: the tutorial names its own JSON as imagePath; a copy naming a
    missing file reads the same. The image is written into the project once, however often it comes."""
    folder = tmp_path / "lm"
    folder.mkdir()
    tutorial = json.loads((labelme_examples() / "tutorial" / "apc2016_obj3.json").read_text())
    (folder / "apc2016_obj3.json").write_text(json.dumps(tutorial))
    (folder / "moved.json").write_text(json.dumps(dict(tutorial, imagePath="photos/gone.jpg")))
    project = Project.create(tmp_path / "p", LabelSet(("background",)))
    report = import_into(project, folder, "labelme")
    assert report.imported == 2 and not report.problems, report.problems
    embedded = np.array(Image.open(io.BytesIO(base64.b64decode(tutorial["imageData"]))).convert("RGB"))
    records = project.images()
    assert len(records) == 2
    for rec in records:
        path = project.image_path(rec)
        assert path.parent == project.root / "imported"
        assert np.array_equal(np.array(Image.open(path).convert("RGB")), embedded)
        assert project.load_mask(rec.id).shape == embedded.shape[:2]
    again = import_into(project, folder, "labelme", overwrite=True)
    assert again.imported == 2 and len(project.images()) == 2


def test_shapes_past_the_edge_are_clipped_with_a_note_and_the_import_succeeds(tmp_path, capsys):
    """labelme's own 2011_000006.json has a chair reaching below the image: labelme clips it silently."""
    Project.create(tmp_path / "p", LabelSet(("background",))).close()
    folder = labelme_examples() / "semantic_segmentation" / "data_annotated"
    assert main(["import", str(tmp_path / "p"), str(folder)]) == 0
    err = capsys.readouterr().err
    assert "note: " in err and "2011_000006.json: shape 4 ('chair', polygon) reaches past the image's edge" in err
    assert "problem" not in err


def read_like_labelme(folder) -> dict[str, np.ndarray]:
    """What labelme2voc makes of a folder: labels.txt gives the ids (`__ignore__` -1, i.e. 255 in its
    PNG; `_background_` 0), and labelme's own shapes_to_label draws each file."""
    shapes_to_label = labelme_shapes_to_label()
    lines = [n.strip() for n in (folder / "labels.txt").read_text().splitlines() if n.strip()]
    assert lines[:2] == ["__ignore__", "_background_"]  # as labelme2voc asserts
    ids = {n: i - 1 for i, n in enumerate(lines)}
    out = {}
    for f in sorted(folder.glob("*.json")):
        doc = json.loads(f.read_text())
        h, w = doc["imageHeight"], doc["imageWidth"]
        shapes = []
        for s in doc["shapes"]:  # as labelme's LabelFile loads a mask shape: its PNG as a bool array
            if s["shape_type"] == "mask":
                png = Image.open(io.BytesIO(base64.b64decode(s["mask"])))
                s = dict(s, mask=np.array(png).astype(bool))
            shapes.append(s)
        cls, _ = shapes_to_label((h, w), shapes, ids)
        out[f.stem] = cls.astype(np.uint8)  # -1 -> 255, as labelme's lblsave writes it
    return out, lines[1:]


@pytest.mark.parametrize("classes", [("background", "cat", "dog"), ("cat", "dog")])
def test_a_labelme_export_reads_back_in_labelme_to_the_projects_label_maps(tmp_path, classes):
    """With a background class (left undrawn, as labelme leaves it) and without one (then every pixel
    is drawn, so labelme's `_background_` covers nothing)."""
    project = Project.create(tmp_path / "p", LabelSet(classes))
    folder = labelme_examples() / "semantic_segmentation" / "data_annotated"
    shutil.copytree(folder, tmp_path / "data")
    rng = np.random.default_rng(0)
    project.add_images([tmp_path / "data"])
    masks = {}
    for rec in project.images():
        w, h = Image.open(project.image_path(rec)).size
        m = np.kron(rng.integers(0, len(classes), (h // 25 + 1, w // 25 + 1)), np.ones((25, 25), int))[:h, :w]
        m = m.astype(np.uint8)
        m[rng.random(m.shape) < 0.01] = 255
        m[40:80, 40:80] = 255  # an unlabelled block
        project.save_mask(rec.id, m, "reviewed")
        masks[project.image_path(rec).stem] = m
    export_project(project, "labelme", tmp_path / "out", ExportOptions())
    theirs, their_names = read_like_labelme(tmp_path / "out")
    assert agreement(masks, project.labels.names, theirs, their_names) == 1.0
    back = Project.create(tmp_path / "back", LabelSet(("background",)))
    assert import_into(back, tmp_path / "out").imported == 3
    assert sorted(back.labels.names) == sorted(set(classes) | {"background"})
    for rec in back.images():
        original = masks[rec.name.rsplit(".", 1)[0]]
        assert np.array_equal(class_names(back.load_mask(rec.id), back.labels.names),
                              class_names(original, project.labels.names))
