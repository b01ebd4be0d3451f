"""Cityscapes' own folders in and out: leftImg8bit/<split>/<city>/*_leftImg8bit.png beside
gtFine/<split>/<city>/*_gtFine_labelIds.png, with Cityscapes' label ids (the table of its own scripts)
mapped through the project's classes: labels it ignores in evaluation are unlabelled unless the
project has them."""

import numpy as np
import pytest
from PIL import Image

from fcn_studio.cli import main
from fcn_studio.core.labels import LabelSet
from fcn_studio.project.formats import ExportOptions, FormatError, detect_format, export_project, import_into
from fcn_studio.project.formats.cityscapes import LABELS
from fcn_studio.project.project import Project
from tests.real_data import cityscapes_labels


def test_the_label_table_is_cityscapes_own():
    theirs = [(lb.name, lb.id, lb.trainId, lb.ignoreInEval, tuple(lb.color)) for lb in cityscapes_labels()]
    ours = [(lb.name, lb.id, lb.train_id, lb.ignore_in_eval, lb.color) for lb in LABELS]
    assert ours == theirs


def cityscapes_folder(root, ids_by_name: dict[str, np.ndarray], split="val", city="frankfurt"):
    for name, ids in ids_by_name.items():
        img = root / "leftImg8bit" / split / city / f"{name}_leftImg8bit.png"
        gt = root / "gtFine" / split / city / f"{name}_gtFine_labelIds.png"
        img.parent.mkdir(parents=True, exist_ok=True)
        gt.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.random.default_rng(len(name)).integers(0, 255, (*ids.shape, 3), dtype=np.uint8)).save(img)
        Image.fromarray(ids.astype(np.uint8), mode="L").save(gt)


def label_ids(seed, h=32, w=48):
    rng = np.random.default_rng(seed)
    return np.kron(rng.integers(0, 34, (h // 8, w // 8)), np.ones((8, 8), int)).astype(np.uint8)


@pytest.mark.parametrize("extra", [(), ("parking",)])
def test_label_ids_come_in_through_the_label_set(tmp_path, extra):
    ids = {"frankfurt_000000_000294": label_ids(0), "frankfurt_000001_000019": label_ids(1)}
    cityscapes_folder(tmp_path / "cs", ids)
    assert detect_format(tmp_path / "cs") == "cityscapes"
    project = Project.create(tmp_path / "p", LabelSet(("road", "car", *extra)))
    report = import_into(project, tmp_path / "cs")
    assert report.imported == 2 and not report.problems
    ignored = [lb.name for lb in LABELS if lb.ignore_in_eval and lb.id >= 0 and lb.name not in extra]
    assert any(n.endswith(", ".join(ignored)) for n in report.notes)
    by_id = {lb.id: lb for lb in LABELS}
    names = project.labels.names
    for rec in project.images():
        mask = project.load_mask(rec.id)
        original = ids[rec.name.removesuffix("_leftImg8bit.png")]
        for value in np.unique(original):
            label = by_id[int(value)]
            got = np.unique(mask[original == value])
            if label.ignore_in_eval and label.name not in extra:
                assert got.tolist() == [255], label.name
            else:
                assert got.tolist() == [names.index(label.name)], label.name


def test_a_project_exports_as_cityscapes_scripts_and_mmsegmentation_read_it_and_comes_back(tmp_path):
    ids = {"frankfurt_000000_000294": label_ids(2), "frankfurt_000000_000576": label_ids(3)}
    cityscapes_folder(tmp_path / "cs", ids)
    project = Project.create(tmp_path / "p", LabelSet(("road",)))
    import_into(project, tmp_path / "cs")
    project.close()
    out = tmp_path / "out"
    assert main(["export", str(tmp_path / "p"), "--format", "cityscapes", "--out", str(out), "--which", "all"]) == 0
    gt = sorted(out.glob("gtFine/*/*/*_gtFine_labelIds.png"))  # the glob of Cityscapes' evaluation script
    assert len(gt) == 2
    for path in gt:
        stem = path.name.removesuffix("_gtFine_labelIds.png")
        city, sequence, frame = stem.split("_")  # cityscapesscripts' getCsFileInfo splits the name so
        image = out / "leftImg8bit" / path.parent.relative_to(out / "gtFine") / f"{stem}_leftImg8bit.png"
        assert image.is_file() and city == "p"
        train = np.array(Image.open(path.with_name(f"{stem}_gtFine_labelTrainIds.png")))  # what mmseg reads
        written = np.array(Image.open(path))
        for lb in LABELS:
            if lb.id >= 0 and not lb.ignore_in_eval:
                assert (train[written == lb.id] == lb.train_id).all()
        assert (train[written == 0] == 255).all()
    project = Project.open(tmp_path / "p")
    masks = {p.name: project.load_mask(p.id) for p in project.images()}
    back = Project.create(tmp_path / "back", LabelSet(("road",)))
    assert import_into(back, out).imported == 2 and back.labels == project.labels
    assert sorted(m.tobytes() for m in masks.values()) == sorted(back.load_mask(r.id).tobytes()
                                                                 for r in back.images())


def test_classes_cityscapes_has_not_are_named_and_can_be_remapped(tmp_path):
    project = Project.create(tmp_path / "p", LabelSet(("background", "car", "motorbike")))
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "a.png")
    project.add_images([tmp_path / "a.png"])
    project.save_mask(project.images()[0].id, np.array([[0, 1, 2, 255] * 2] * 8, np.uint8), "reviewed")
    with pytest.raises(FormatError, match="not Cityscapes labels: background, motorbike"):
        export_project(project, "cityscapes", tmp_path / "x", ExportOptions())
    options = ExportOptions(remap={"background": None, "motorbike": "motorcycle"})
    assert export_project(project, "cityscapes", tmp_path / "x", options) == 1
    written = np.array(Image.open(next((tmp_path / "x").glob("gtFine/*/*/*_labelIds.png"))))
    assert written[0, :4].tolist() == [0, 26, 32, 0]  # unlabelled, car, motorcycle, unlabelled
