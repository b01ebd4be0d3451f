import numpy as np
import pytest
import torch
from PIL import Image

from fcn_studio.core.mask_io import write_mask
from fcn_studio.core.sample_data import SAMPLE_LABELS, write_sample_voc
from fcn_studio.model.input_spec import IMAGENET, normalise_batch
from fcn_studio.project.project import Project
from fcn_studio.training.data import (
    Augment,
    SegmentationDataset,
    augment,
    open_source,
    random_crop,
    voc_source,
)


def test_voc_folder_with_cvat_labelmap_and_hash_split(tmp_path):
    write_sample_voc(tmp_path / "voc", 20, size=(40, 50))
    source = voc_source(tmp_path / "voc")
    assert source.labels.names == SAMPLE_LABELS.names and source.labels.colors[1] == SAMPLE_LABELS.colors[1]
    assert len(source.train) + len(source.val) == 20 and source.val
    again = voc_source(tmp_path / "voc")
    assert [i.key for i in again.val] == [i.key for i in source.val]  # deterministic


def test_voc_image_sets_grey_and_sixteen_bit_images(tmp_path):
    root = write_sample_voc(tmp_path / "voc", 6, size=(40, 50))
    sets = root / "ImageSets" / "Segmentation"
    sets.mkdir(parents=True)
    (sets / "train.txt").write_text("00000\n00001\n00002\n00003\n")
    (sets / "val.txt").write_text("00004\n00005\n")
    Image.open(root / "JPEGImages" / "00000.jpg").convert("L").save(root / "JPEGImages" / "00000.png")
    (root / "JPEGImages" / "00000.jpg").unlink()
    Image.fromarray((np.arange(40 * 50).reshape(40, 50) * 20).astype(np.uint16)).save(root / "JPEGImages" / "00001.png")
    (root / "JPEGImages" / "00001.jpg").unlink()
    source = voc_source(root)
    assert [i.key for i in source.train] == ["00000", "00001", "00002", "00003"]
    ds = SegmentationDataset(source.train, source.labels, IMAGENET, None)
    x, y = ds[1]
    assert x.shape == (40, 50, 3) and x.dtype == torch.uint8 and y.shape == (40, 50)
    net_input = normalise_batch(x[None], IMAGENET, torch.device("cpu"))
    assert net_input.shape == (1, 3, 40, 50) and net_input.is_contiguous(memory_format=torch.channels_last)
    expected = (x[..., 0].float() / 255 - 0.485) / 0.229
    assert torch.allclose(net_input[0, 0], expected, atol=1e-5)


def test_project_split_is_kept_and_new_images_never_move_old_ones(tmp_path):
    (tmp_path / "img").mkdir()
    for i in range(12):
        Image.new("RGB", (8, 8)).save(tmp_path / "img" / f"{i:02d}.png")
    project = Project.create(tmp_path / "p", SAMPLE_LABELS)
    project.add_images([tmp_path / "img"])
    recs = project.images()
    for rec in recs[:8]:
        project.save_mask(rec.id, np.zeros((8, 8), np.uint8))
    first = project.training_split()
    assert set(first) == {r.id for r in recs[:8]}
    for rec in recs[8:]:
        project.save_mask(rec.id, np.zeros((8, 8), np.uint8), "reviewed")
    second = project.training_split()
    assert all(second[i] == side for i, side in first.items()) and len(second) == 12
    project.close()
    source = open_source(tmp_path / "p")
    assert len(source.train) + len(source.val) == 12


def test_crops_are_padded_with_ignore_and_augmentation_keeps_pairs_aligned():
    image = np.zeros((20, 30, 3), np.uint8)
    mask = np.zeros((20, 30), np.uint8)
    image[:, 15:] = 255
    mask[:, 15:] = 1
    rng = np.random.default_rng(0)
    img, m = random_crop(image, mask, 40, rng)
    assert img.shape == (40, 40, 3) and (m[25:, :] == 255).all()
    for seed in range(5):
        img, m = augment(image, mask, Augment(crop=16, scale=(0.8, 1.2), jitter=0.0), np.random.default_rng(seed))
        labelled = m != 255
        assert ((img[..., 0] > 127) == (m == 1))[labelled].mean() > 0.95


def test_unknown_class_ids_become_ignore(tmp_path):
    root = write_sample_voc(tmp_path / "voc", 1, size=(10, 10))
    write_mask(root / "SegmentationClass" / "00000.png", np.full((10, 10), 9, np.uint8))
    source = voc_source(root)
    _, y = SegmentationDataset(source.train, source.labels, IMAGENET, None)[0]
    assert (y == 255).all()


def test_neither_project_nor_voc_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="neither a project"):
        open_source(tmp_path)
