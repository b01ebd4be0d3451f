"""Every format round-trips pixel for pixel (ignore included); what other tools read, they read."""

import json
import time

import numpy as np
import pytest
from PIL import Image

from fcn_studio.cli import main
from fcn_studio.core.labels import LabelSet
from fcn_studio.core.mask_io import read_mask
from fcn_studio.project.formats import ExportOptions, FormatError, detect_format, export_project, import_into
from fcn_studio.project.formats.labelme import IGNORE_LABEL, mask_to_shapes, shapes_to_mask
from fcn_studio.project.project import Project

LABELS = LabelSet(("background", "cat", "dog"), ((0, 0, 0), (200, 30, 30), (30, 30, 200)))


def tricky_mask(seed: int, h: int = 48, w: int = 64) -> np.ndarray:
    """Blocks of classes, ignore speckles, a hole with an island, diagonal touches."""
    rng = np.random.default_rng(seed)
    m = np.kron(rng.integers(0, 3, (h // 8, w // 8)), np.ones((8, 8), int)).astype(np.uint8)
    m[rng.random(m.shape) < 0.02] = 255
    m[10:30, 10:30] = 1
    m[15:25, 15:25] = 255
    m[18:21, 18:21] = 2
    m[40, 40], m[41, 41] = 1, 2
    return m


def by_stem(project, name: str) -> np.ndarray:
    stem = name.split(".")[0]
    return next(m for n, m in project.masks_by_name.items() if n.split(".")[0] == stem)


@pytest.fixture
def project(tmp_path):
    (tmp_path / "img").mkdir()
    masks = {}
    p = Project.create(tmp_path / "proj", LABELS)
    for i in range(6):
        Image.fromarray(np.random.default_rng(i).integers(0, 255, (48, 64, 3)).astype(np.uint8)).save(
            tmp_path / "img" / f"im{i}.{'jpg' if i % 2 else 'png'}")
    p.add_images([tmp_path / "img"])
    for i, rec in enumerate(p.images()):
        masks[rec.name] = tricky_mask(i)
        p.save_mask(rec.id, masks[rec.name], "reviewed" if i % 2 else "corrected")
    p.masks_by_name = masks
    yield p
    p.close()


@pytest.mark.parametrize("fmt", ["voc", "coco", "masks", "labelme"])
def test_every_format_round_trips_exactly(project, tmp_path, fmt):
    out = tmp_path / f"out_{fmt}"
    assert export_project(project, fmt, out, ExportOptions()) == 6
    assert detect_format(out) == fmt
    fresh = Project.create(tmp_path / f"back_{fmt}", LabelSet(("background",)))
    report = import_into(fresh, out)
    assert report.imported == 6 and not report.problems, report.problems
    assert fresh.labels.names == LABELS.names
    for rec in fresh.images():
        original = by_stem(project, rec.name)
        assert np.array_equal(fresh.load_mask(rec.id), original), (fmt, rec.name)
        assert rec.state == "reviewed"
    fresh.close()


def test_coco_polygons_and_components_still_decode_exactly(project, tmp_path):
    from pycocotools.coco import COCO

    export_project(project, "coco", tmp_path / "c", ExportOptions(), per_component=True, polygons=True)
    coco = COCO(str(tmp_path / "c" / "annotations.json"))
    assert any(isinstance(a["segmentation"], list) for a in coco.dataset["annotations"])
    for img in coco.dataset["images"]:
        mask = np.full((img["height"], img["width"]), 255, np.uint8)
        for ann in coco.loadAnns(coco.getAnnIds(imgIds=[img["id"]])):
            mask[coco.annToMask(ann).astype(bool)] = ann["category_id"] - 1
        original = by_stem(project, img["file_name"])
        assert np.array_equal(mask, original)


def test_voc_export_loads_in_torchvision(project, tmp_path):
    from torchvision.datasets import VOCSegmentation

    root = tmp_path / "VOCdevkit"
    export_project(project, "voc", root / "VOC2012", ExportOptions())
    ds = VOCSegmentation(str(tmp_path), year="2012", image_set="trainval", download=False)
    assert len(ds) == 6
    img, target = ds[0]
    assert img.size == target.size and target.mode == "P"
    name = (root / "VOC2012" / "ImageSets" / "Segmentation" / "trainval.txt").read_text().split()[0]
    assert np.array_equal(np.array(target), read_mask(root / "VOC2012" / "SegmentationClass" / f"{name}.png"))
    train = (root / "VOC2012" / "ImageSets" / "Segmentation" / "train.txt").read_text().split()
    val = (root / "VOC2012" / "ImageSets" / "Segmentation" / "val.txt").read_text().split()
    assert sorted(train + val) == sorted(name.split()[0] for name in
                                         (root / "VOC2012" / "ImageSets" / "Segmentation" / "trainval.txt").open())


def test_options_which_images_remap_and_link(project, tmp_path):
    out = tmp_path / "o"
    n = export_project(project, "masks", out, ExportOptions(which="reviewed", link=True,
                                                           remap={"dog": "cat", "background": None}))
    assert n == 3
    assert json.loads((out / "classes.json").read_text())["names"] == ["cat"]
    label = np.array(Image.open(next((out / "labels").glob("*.png"))))
    assert set(np.unique(label)) <= {0, 255}
    assert next((out / "images").iterdir()).stat().st_nlink >= 2  # linked, not copied


def test_a_failed_export_leaves_nothing_and_an_existing_one_is_kept(project, tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(FormatError, match="not empty"):
        export_project(project, "voc", out)
    with pytest.raises(FormatError, match="unknown classes"):
        export_project(project, "voc", tmp_path / "new", ExportOptions(remap={"horse": "x"}))
    assert not (tmp_path / "new").exists() and not list(tmp_path.glob(".new.*"))
    assert (out / "keep.txt").read_text() == "mine"
    export_project(project, "voc", out, ExportOptions(replace=True))
    assert not (out / "keep.txt").exists() and (out / "labelmap.txt").is_file()


def test_import_never_overwrites_human_masks_without_asking(project, tmp_path):
    export_project(project, "masks", tmp_path / "m")
    import shutil

    shutil.rmtree(tmp_path / "m" / "images")
    (tmp_path / "m" / "images").symlink_to(tmp_path / "img")  # labels for the project's own image files
    rec = project.images()[0]
    mine = np.zeros((48, 64), np.uint8)
    project.save_mask(rec.id, mine)
    report = import_into(project, tmp_path / "m")
    assert report.skipped_existing == 6 and np.array_equal(project.load_mask(rec.id), mine)
    report = import_into(project, tmp_path / "m", overwrite=True)
    assert report.imported == 6 and not np.array_equal(project.load_mask(rec.id), mine)


def test_bad_input_is_reported_and_the_rest_goes_on(project, tmp_path):
    src = tmp_path / "m"
    export_project(project, "masks", src)
    labels = sorted((src / "labels").glob("*.png"))
    Image.fromarray(np.zeros((5, 5), np.uint8), mode="L").save(labels[0])  # wrong size
    Image.fromarray(np.full((48, 64), 7, np.uint8), mode="L").save(labels[1])  # unknown class index
    Image.fromarray(np.zeros((48, 64), np.uint8), mode="L").save(src / "labels" / "ghost_labelIds.png")  # no image
    fresh = Project.create(tmp_path / "f")
    report = import_into(fresh, src)
    text = "\n".join(report.problems)
    assert "5x5" in text and "unknown class indices [7]" in text and "ghost" in text
    assert report.imported == 5  # everything else came in (the unknown-index one, as unlabelled)


def test_malformed_json_is_reported_and_points_outside_clipped_with_a_note(project, tmp_path):
    src = tmp_path / "lm"
    export_project(project, "labelme", src)
    files = sorted(src.glob("*.json"))
    files[0].write_text("{ not json")
    doc = json.loads(files[1].read_text())
    doc["shapes"].append({"label": "cat", "points": [[-5, -5], [10, 0], [0, 10]], "shape_type": "polygon"})
    files[1].write_text(json.dumps(doc))
    fresh = Project.create(tmp_path / "f")
    report = import_into(fresh, src, "labelme")
    text = "\n".join(report.problems)
    assert "malformed labelme JSON" in text and len(report.problems) == 1 and report.imported == 5
    assert any(files[1].name in n and "past the image's edge; clipped" in n for n in report.notes)
    coco_dir = tmp_path / "cc"
    coco_dir.mkdir()
    (coco_dir / "annotations.json").write_text("{broken")
    with pytest.raises(FormatError):
        import_into(fresh, coco_dir / "annotations.json", "coco")


def test_missing_images_are_reported(project, tmp_path):
    src = tmp_path / "v"
    export_project(project, "voc", src)
    next((src / "JPEGImages").iterdir()).unlink()
    report = import_into(Project.create(tmp_path / "f"), src)
    assert report.imported == 5 and any("no image" in p for p in report.problems)


def test_labelme_shapes_are_exact_on_noise():
    """Every class and unlabelled speckle of pure noise comes back pixel for pixel from polygons alone,
    drawn over the background as labelme draws them (the background class is labelme's `_background_`)."""
    rng = np.random.default_rng(0)
    classes = {IGNORE_LABEL: 255, "_background_": 0, **{n: i for i, n in enumerate(LABELS.names[1:], 1)}}
    for _ in range(5):
        m = rng.integers(0, 3, (30, 40)).astype(np.uint8)
        m[rng.random(m.shape) < 0.1] = 255
        shapes = mask_to_shapes(m, LABELS)
        assert {s["shape_type"] for s in shapes} == {"polygon"}
        problems = []
        assert np.array_equal(shapes_to_mask(m.shape, shapes, classes, 0, problems.append), m)
        assert not problems


def test_cli_export_import_and_auto_format(project, tmp_path, capsys):
    root = project.root
    assert main(["export", str(root), "--format", "coco", "--out", str(tmp_path / "c"), "--remap", "dog=cat"]) == 0
    assert "6 images exported" in capsys.readouterr().out
    Project.create(tmp_path / "dst").close()
    assert main(["import", str(tmp_path / "dst"), str(tmp_path / "c")]) == 0
    assert "6 masks imported" in capsys.readouterr().out
    dst = Project.open(tmp_path / "dst")  # VOC classes: "cat" and "background" exist, matched by name
    assert len(dst.labels) == 21
    rec = dst.images()[0]
    original = by_stem(project, rec.name)
    got = dst.load_mask(rec.id)
    cat = dst.labels.names.index("cat")
    assert ((got == cat) == ((original == 1) | (original == 2))).all()  # dog merged into cat by --remap


@pytest.mark.slow
def test_a_large_export_of_1000_images(tmp_path):
    (tmp_path / "img").mkdir()
    p = Project.create(tmp_path / "p", LABELS)
    for i in range(1000):
        Image.fromarray(np.full((60, 80, 3), i % 255, np.uint8)).save(tmp_path / "img" / f"{i:04d}.jpg")
    p.add_images([tmp_path / "img"])
    for i, rec in enumerate(p.images()):
        p.save_mask(rec.id, tricky_mask(i % 20, 60, 80))
    timings = {}
    for fmt in ("voc", "coco", "masks", "labelme"):
        t = time.perf_counter()
        assert export_project(p, fmt, tmp_path / fmt) == 1000
        timings[fmt] = time.perf_counter() - t
    print("export of 1000 images (s):", {k: round(v, 2) for k, v in timings.items()})
