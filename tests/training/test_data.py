import numpy as np
import pytest
import torch
from PIL import Image

from fcn_studio.core.labels import LabelSet
from fcn_studio.core.mask_io import write_mask
from fcn_studio.core.sample_data import SAMPLE_LABELS, write_sample_voc
from fcn_studio.model.input_spec import IMAGENET, normalise_batch
from fcn_studio.project.project import Project
from fcn_studio.training.data import (
    Augment,
    Item,
    SegmentationDataset,
    augment,
    fitted_crop,
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
    whole = [it for it in source.val if it.part == "whole"]
    assert len(source.train) + len(whole) == 12
    # every training image validates on its held-out regions too, and trains on the rest only
    assert sorted(it.key for it in source.val if it.part == "held out") == sorted(it.key for it in source.train)
    assert {it.part for it in source.train} == {"trained"}


def test_crops_are_padded_with_ignore_and_augmentation_keeps_pairs_aligned():
    image = np.zeros((20, 30, 3), np.uint8)
    mask = np.zeros((20, 30), np.uint8)
    image[:, 15:] = 255
    mask[:, 15:] = 1
    rng = np.random.default_rng(0)
    img, m = random_crop(image, mask, 40, rng, 255)
    assert img.shape == (40, 40, 3) and (m[25:, :] == 255).all()
    for seed in range(5):
        img, m = augment(image, mask, Augment(crop=16, scale=(0.8, 1.2), jitter=0.0), np.random.default_rng(seed),
                       255)
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


def _project_with_images(tmp_path, count: int, labels=SAMPLE_LABELS) -> Project:
    (tmp_path / "img").mkdir()
    for i in range(count):
        Image.new("RGB", (8, 8), (i, i, i)).save(tmp_path / "img" / f"{i:02d}.png")
    project = Project.create(tmp_path / "p", labels)
    project.add_images([tmp_path / "img"])
    return project


def test_few_labelled_images_have_no_validation_and_a_validated_image_never_trains(tmp_path):
    project = _project_with_images(tmp_path, 12)
    recs = project.images()
    for rec in recs[:4]:
        project.save_mask(rec.id, np.zeros((8, 8), np.uint8))
    few = open_source(tmp_path / "p")
    # no whole image validates yet: the training images' held-out regions do, from the first on
    assert [i.part for i in few.val] == ["held out"] * 4 and len(few.train) == 4
    sides = {}
    for n, rec in enumerate(recs[4:], start=5):
        project.save_mask(rec.id, np.zeros((8, 8), np.uint8))
        split = project.training_split()
        assert all(split[i] == side for i, side in sides.items())  # nobody ever moves
        assert list(split.values()).count("val") == n // 5  # the share of validation stays at 1 in 5
        sides = split
    source = open_source(tmp_path / "p")
    val_keys = {i.key for i in source.val if i.part == "whole"}
    assert not val_keys & {i.key for i in source.train} and len(val_keys) == 2
    project.close()


def test_a_mask_corrected_again_is_read_again(tmp_path):
    project = _project_with_images(tmp_path, 2)
    recs = project.images()
    for rec in recs:
        project.save_mask(rec.id, np.zeros((8, 8), np.uint8))
    source = open_source(tmp_path / "p")
    ds = SegmentationDataset(source.train, source.labels, IMAGENET, None)

    def trained(k):  # the pixels that train (the held-out regions read 255)
        y = ds[k][1]
        return y[y != 255]

    assert (trained(0) == 0).all() and (trained(1) == 0).all()
    changed = next(r.id for r in recs if str(r.id) == source.train[0].key)
    project.save_mask(changed, np.full((8, 8), 2, np.uint8))  # the person corrects it again mid-run
    assert (trained(0) == 2).all()
    ds.items = source.train[::-1]  # --follow hands over a new list: no item gets another one's pixels
    assert (trained(0) == 0).all() and (trained(1) == 2).all()
    project.close()


def test_the_label_sets_ignore_index_is_the_one_used(tmp_path):
    labels = LabelSet(("background", "thing"), ((0, 0, 0), (255, 0, 0)), ignore_index=200)
    root = write_sample_voc(tmp_path / "voc", 1, size=(10, 10))
    write_mask(root / "SegmentationClass" / "00000.png", np.full((10, 10), 9, np.uint8))
    items = voc_source(root).train
    ds = SegmentationDataset(items, labels, IMAGENET, Augment(crop=16, scale=(1.0, 1.0), jitter=0.0))
    _, y = ds[0]
    assert set(torch.unique(y).tolist()) == {200}  # unknown ids and the crop's padding
    from fcn_studio.training.losses import segmentation_loss

    logits = torch.zeros(1, 2, 1, 2)
    assert torch.isclose(segmentation_loss(logits, torch.tensor([[[0, 200]]]), labels.ignore_index),
                         torch.log(torch.tensor(2.0)))


def test_small_images_are_cropped_to_their_size_not_padded_to_the_recipes_crop(tmp_path):
    """128 x 128 tiles in 320 x 320 crops would be 84% padding: computed, and learned from nothing."""
    def item(name, h, w):
        path = tmp_path / f"{name}.png"
        Image.fromarray(np.zeros((h, w, 3), np.uint8)).save(path)
        return Item(path, path, name)

    tiles = [item(f"t{i}", 128, 128) for i in range(3)]
    assert fitted_crop(320, tiles) == 128
    assert fitted_crop(320, [*tiles, item("odd", 100, 130)]) == 160  # the largest side, up to the stride
    assert fitted_crop(320, [item("sample", 240, 320)]) == 320
    assert fitted_crop(320, [item("photo", 2000, 3000)]) == 320
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    assert fitted_crop(320, [*tiles, Item(broken, broken, "broken")]) == 320
