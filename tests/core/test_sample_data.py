import numpy as np

from fcn_studio.core.mask_io import read_mask
from fcn_studio.core.sample_data import SAMPLE_LABELS, sample_image, write_sample_images


def test_samples_are_deterministic_and_have_every_kind_of_shape():
    a, ma = sample_image(3)
    b, mb = sample_image(3)
    assert np.array_equal(a, b) and np.array_equal(ma, mb)
    seen = set()
    for seed in range(12):
        seen |= set(np.unique(sample_image(seed)[1]).tolist())
    assert seen == set(range(len(SAMPLE_LABELS)))


def test_written_samples_come_with_their_masks(tmp_path):
    paths = write_sample_images(tmp_path / "img", 2, with_masks_in=tmp_path / "gt", size=(40, 50))
    assert len(paths) == 2
    assert read_mask(tmp_path / "gt" / "sample_001.png").shape == (40, 50)
