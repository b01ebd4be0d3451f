"""The sample project's own ground_truth/ imports as it is; images copied elsewhere are recognised by
content; an unrecognised folder is described without naming a command-line flag."""

import shutil

import numpy as np
import pytest
from PIL import Image

from fcn_studio.cli import main
from fcn_studio.core.mask_io import read_mask
from fcn_studio.core.sample_data import SAMPLE_LABELS, write_sample_images
from fcn_studio.project.formats import UnknownLayout, detect_format, import_into
from fcn_studio.project.project import Project


@pytest.fixture
def sample(tmp_path):
    """What Help > Create Sample Project makes: images/, ground_truth/ and the project."""
    root = tmp_path / "fcn-studio-sample"
    write_sample_images(root / "images", 4, with_masks_in=root / "ground_truth", size=(48, 64))
    project = Project.create(root, SAMPLE_LABELS)
    project.add_images([root / "images"])
    yield project
    project.close()


def test_the_sample_projects_ground_truth_folder_imports_as_it_is(sample):
    truth = sample.root / "ground_truth"
    assert detect_format(truth, sample) == "matched"
    report = import_into(sample, truth)
    assert (report.imported, report.added_classes, report.problems) == (4, [], [])
    assert sample.labels == SAMPLE_LABELS and len(sample.images()) == 4
    for rec in sample.images():
        expected = read_mask(truth / f"{rec.name.rsplit('.', 1)[0]}.png")
        assert np.array_equal(sample.load_mask(rec.id), expected) and rec.id in report.touched


def test_the_sample_folder_itself_imports_with_the_projects_classes(sample):
    report = import_into(sample, sample.root)  # images/ beside ground_truth/
    assert (report.imported, report.added_classes, report.problems) == (4, [], [])
    assert len(sample.images()) == 4


def test_images_copied_elsewhere_are_recognised_by_content_not_added_again(sample, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(sample.root / "images", copy / "images")
    shutil.copytree(sample.root / "ground_truth", copy / "labels")
    report = import_into(sample, copy)
    assert (report.imported, report.same_content, len(sample.images())) == (4, 4, 4)


def test_a_re_encoded_copy_is_added_but_reported_as_looking_the_same(sample, tmp_path):
    copy = tmp_path / "copy"
    (copy / "images").mkdir(parents=True)
    shutil.copytree(sample.root / "ground_truth", copy / "labels")
    for p in sorted((sample.root / "images").glob("*.png"))[:1]:
        Image.open(p).convert("RGB").save(copy / "images" / p.name, compress_level=0, optimize=False,
                                          pnginfo=None, dpi=(10, 10))
    report = import_into(sample, copy)
    assert report.imported == 1 and len(sample.images()) == 5
    assert any("looks like images/" in p for p in report.problems)


def test_an_unknown_layout_names_no_flag_but_the_command_line_adds_its_own(sample, tmp_path, capsys):
    (tmp_path / "nothing").mkdir()
    with pytest.raises(UnknownLayout) as caught:
        import_into(sample, tmp_path / "nothing")
    assert "--format" not in str(caught.value)
    sample.close()
    assert main(["import", str(sample.root), str(tmp_path / "nothing")]) == 2
    assert "name the format with --format" in capsys.readouterr().err
