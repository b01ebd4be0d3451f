"""The one split policy's held-out regions: a fixed share of each training image, the same for good,
kept from training (ignore) and scored instead."""

import numpy as np

from fcn_studio.core.splits import HELD_OUT, REGION_SHARE, TRAINED, WHOLE, held_out_blocks, mask_part, measured_on


def test_held_out_regions_are_a_fixed_share_in_blocks_seeded_by_the_image():
    a = held_out_blocks("17", (128, 128))
    assert a.shape == (128, 128) and abs(a.mean() - REGION_SHARE) < 0.03
    assert (a == held_out_blocks("17", (128, 128))).all()  # the same regions every time, in every process
    assert (a != held_out_blocks("18", (128, 128))).any()  # another image, another pattern
    blocks = a.reshape(8, 16, 8, 16)  # 16 x 16 blocks on a 128 x 128 image
    assert (blocks.all(axis=(1, 3)) == blocks.any(axis=(1, 3))).all()
    tiny = held_out_blocks("3", (1, 2))
    assert tiny.sum() == 1  # at least one pixel validates and at least one trains, however small


def test_the_trained_and_the_held_out_parts_split_a_mask_between_them():
    mask = np.random.default_rng(0).integers(0, 3, (40, 60)).astype(np.uint8)
    trained, held = mask_part(mask, "5", TRAINED, 255), mask_part(mask, "5", HELD_OUT, 255)
    assert ((trained == 255) ^ (held == 255)).all()  # every pixel is in exactly one part
    assert (np.where(trained == 255, held, trained) == mask).all()
    assert mask_part(mask, "5", WHOLE, 255) is mask


def test_what_a_score_was_measured_on_reads_plainly():
    assert measured_on(2, 8, 12345) == "2 whole images + held-out regions of 8 images (12,345 pixels)"
    assert measured_on(0, 1) == "held-out regions of 1 image"
