import os

import numpy as np
import pytest
from PIL import Image

from fcn_studio.core.labels import LabelSet
from fcn_studio.core.mask_io import MaskError, read_mask, write_mask


def test_round_trip_as_a_voc_palette_png(tmp_path, rng):
    mask = rng.integers(0, 21, (30, 40)).astype(np.uint8)
    mask[0, :5] = 255
    path = tmp_path / "m.png"
    write_mask(path, mask)
    with Image.open(path) as img:
        assert img.mode == "P"
        pal = img.getpalette()
        assert pal[3:6] == [128, 0, 0] and pal[255 * 3 : 256 * 3] == [224, 224, 192]
    assert (read_mask(path, shape=(30, 40)) == mask).all()


def test_colour_masks_from_other_tools_map_back_to_indices(tmp_path):
    labels = LabelSet(("bg", "cat"), ((0, 0, 0), (255, 0, 0)))
    rgb = np.zeros((2, 3, 3), np.uint8)
    rgb[0, 1] = (255, 0, 0)
    rgb[1, 2] = (224, 224, 192)  # ignore
    path = tmp_path / "rgb.png"
    Image.fromarray(rgb).save(path)
    assert read_mask(path, labels=labels).tolist() == [[0, 1, 0], [0, 0, 255]]
    rgb[0, 0] = (1, 2, 3)
    Image.fromarray(rgb).save(path)
    with pytest.raises(MaskError, match="#010203"):
        read_mask(path, labels=labels)


def test_wrong_size_mask_is_refused_with_both_sizes(tmp_path):
    path = tmp_path / "m.png"
    write_mask(path, np.zeros((10, 20), np.uint8))
    with pytest.raises(MaskError, match="20x10 but its image is 21x10"):
        read_mask(path, shape=(10, 21))


def test_a_failed_write_leaves_the_old_mask_and_no_temporary_file(tmp_path):
    path = tmp_path / "m.png"
    old = np.ones((5, 5), np.uint8)
    write_mask(path, old)
    with pytest.raises(MaskError):
        write_mask(path, np.zeros((5, 5, 3), np.uint8))
    bad = np.zeros((5, 5), np.int32)
    bad[0, 0] = 999
    with pytest.raises(MaskError):
        write_mask(path, bad)
    assert (read_mask(path) == old).all()
    assert os.listdir(tmp_path) == ["m.png"]


def test_read_only_folder_raises_and_keeps_old_file(tmp_path, read_only):
    folder = tmp_path / "masks"
    path = folder / "m.png"
    write_mask(path, np.ones((3, 3), np.uint8))
    read_only(folder)
    with pytest.raises(OSError):
        write_mask(path, np.zeros((3, 3), np.uint8))
    assert (read_mask(path) == 1).all()


def test_unreadable_mask_names_the_file(tmp_path):
    path = tmp_path / "m.png"
    path.write_bytes(b"not a png")
    with pytest.raises(MaskError, match="m.png"):
        read_mask(path)
