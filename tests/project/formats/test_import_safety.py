"""An import is one step: stopped half-way (Ctrl-C, a full disk), nothing of it stays; and it adds only
the classes its masks use. Paths written in a dataset's files stay inside the dataset unless the
person allows more: a crafted labelme or COCO file cannot make the project read (or an export copy)
any file the person can read."""

import json

import numpy as np
import pytest
from PIL import Image

from fcn_studio.cli import main
from fcn_studio.core.labels import LabelSet
from fcn_studio.project.formats import ExportOptions, OutsidePaths, export_project, import_into
from fcn_studio.project.project import Project


def labelme_folder(folder, names, labels=("cat",), image_path=None):
    folder.mkdir(parents=True)
    for k, name in enumerate(names):
        Image.fromarray(np.full((20, 30, 3), 40 * k, np.uint8)).save(folder / f"{name}.png")
        shapes = [{"label": labels[k % len(labels)], "points": [[2, 2], [12, 9]], "shape_type": "rectangle"}]
        doc = {"version": "5.5.0", "flags": {}, "shapes": shapes, "imageData": None, "imageHeight": 20,
               "imageWidth": 30, "imagePath": image_path or f"{name}.png"}
        (folder / f"{name}.json").write_text(json.dumps(doc))


def state(project):
    return (project.labels, [(r.path, r.state) for r in project.images()],
            {rec.path: project.load_mask(rec.id).tobytes() for rec in project.images() if project.load_mask(rec.id)
             is not None})


@pytest.mark.parametrize("overwrite", [False, True])
def test_an_import_stopped_half_way_leaves_nothing_behind(tmp_path, overwrite):
    src = tmp_path / "lm"
    labelme_folder(src, ["a", "b", "c", "d"], labels=("cat", "dog", "owl", "yak"))
    project = Project.create(tmp_path / "p", LabelSet(("background", "cat")))
    project.add_images([src / "b.png"])  # one image the project has, with a person's mask
    mine = np.ones((20, 30), np.uint8)
    project.save_mask(project.images()[0].id, mine, "corrected")
    before = state(project)
    calls = []

    def progress(done, total):  # the person presses Ctrl-C while the masks are being written
        calls.append(done)
        if done == total // 2 + 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        import_into(project, src, "labelme", overwrite=overwrite, progress=progress)
    assert max(calls) > 4  # it was writing: classes and images were in, some masks too
    assert state(project) == before
    reopened = Project.open(tmp_path / "p")
    assert state(reopened) == before and np.array_equal(reopened.load_mask(reopened.images()[0].id), mine)


def test_classes_are_added_only_for_masks_written(tmp_path):
    src = tmp_path / "lm"
    labelme_folder(src, ["a", "b"], labels=("cat", "dog"))
    (src / "labels.txt").write_text("__ignore__\n_background_\ncat\ndog\nowl\nyak\n")
    (src / "b.png").unlink()  # dog's image is gone: its mask is not written
    project = Project.create(tmp_path / "p", LabelSet(("background",)))
    report = import_into(project, src, "labelme")
    assert report.imported == 1 and report.added_classes == ["cat"]
    assert project.labels.names == ("background", "cat")


def secret(tmp_path):
    path = tmp_path / "private" / "secret.png"
    path.parent.mkdir()
    Image.fromarray(np.full((20, 30, 3), 7, np.uint8)).save(path)
    return path


def test_labelme_image_paths_leading_outside_are_not_followed_unless_allowed(tmp_path, capsys):
    target = secret(tmp_path)
    src = tmp_path / "data" / "lm"
    labelme_folder(src, ["a"])
    doc = json.loads((src / "a.json").read_text())
    (src / "evil.json").write_text(json.dumps(dict(doc, imagePath="../../private/secret.png")))
    other = target.with_name("other.png")
    other.write_bytes(target.read_bytes())
    (src / "abs.json").write_text(json.dumps(dict(doc, imagePath=str(other))))
    Project.create(tmp_path / "p", LabelSet(("background",))).close()
    assert main(["import", str(tmp_path / "p"), str(src)]) == 1
    err = capsys.readouterr().err
    assert err.count("leads outside") == 2 and "not followed (--allow-outside follows it)" in err
    project = Project.open(tmp_path / "p")
    assert [r.name for r in project.images()] == ["a.png"]
    export_project(project, "labelme", tmp_path / "out", ExportOptions())
    assert not list((tmp_path / "out").rglob("secret*"))
    project.close()
    assert main(["import", str(tmp_path / "p"), str(src), "--allow-outside"]) == 0
    assert "followed, as asked" in capsys.readouterr().err
    project = Project.open(tmp_path / "p")
    assert sorted(r.name for r in project.images()) == ["a.png", "other.png", "secret.png"]
    project.close()


def test_asking_lists_the_outside_paths_before_anything_changes(tmp_path):
    target = secret(tmp_path)
    src = tmp_path / "coco"
    (src / "images").mkdir(parents=True)
    Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(src / "images" / "a.png")
    rle = {"size": [20, 30], "counts": [40, 100, 460]}
    doc = {"images": [{"id": 1, "file_name": "a.png", "height": 20, "width": 30},
                      {"id": 2, "file_name": "../../private/secret.png", "height": 20, "width": 30},
                      {"id": 3, "file_name": str(target), "height": 20, "width": 30}],
           "categories": [{"id": 1, "name": "cat"}],
           "annotations": [{"id": i, "image_id": i, "category_id": 1, "iscrowd": 1, "segmentation": rle}
                           for i in (1, 2, 3)]}
    (src / "annotations.json").write_text(json.dumps(doc))
    project = Project.create(tmp_path / "p", LabelSet(("background",)))
    with pytest.raises(OutsidePaths) as asked:
        import_into(project, src, outside="ask")
    assert asked.value.paths == [str(target), str(target)]
    assert project.images() == [] and project.labels.names == ("background",)
    report = import_into(project, src)
    assert report.imported == 1 and len(report.problems) == 2 and report.outside == [str(target)] * 2
    followed = import_into(project, src, outside="follow")
    assert followed.imported == 1 and "names this image again" in followed.problems[0]  # the same file twice
    assert sorted(r.name for r in project.images()) == ["a.png", "secret.png"]
