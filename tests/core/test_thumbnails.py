import numpy as np
from PIL import Image

from fcn_studio.core.thumbnails import make_thumbnail


def test_thumbnail_is_small_cached_and_remade_when_the_file_changes(tmp_path):
    path = tmp_path / "big.jpg"
    Image.new("RGB", (2000, 1000), (200, 10, 10)).save(path, quality=90)
    cache = tmp_path / "cache"
    thumb = make_thumbnail(path, 96, cache)
    assert thumb.shape == (48, 96, 3) and thumb[20, 40, 0] > 150
    assert len(list(cache.iterdir())) == 1
    again = make_thumbnail(path, 96, cache)
    assert again.shape == thumb.shape
    Image.new("RGB", (500, 1000), (10, 200, 10)).save(path, quality=90)
    changed = make_thumbnail(path, 96, cache)
    assert changed.shape == (96, 48, 3) and changed[40, 20, 1] > 150
    assert len(list(cache.iterdir())) == 2


def test_thumbnail_of_a_broken_file_raises_a_clear_error(tmp_path):
    import pytest

    from fcn_studio.core.image_io import ImageLoadError

    bad = tmp_path / "bad.png"
    bad.write_bytes(b"nope")
    with pytest.raises(ImageLoadError, match="bad.png"):
        make_thumbnail(bad, 64, tmp_path / "cache")


def test_sixteen_bit_thumbnails_are_visible(tmp_path):
    path = tmp_path / "deep.png"
    Image.fromarray((np.arange(64 * 64).reshape(64, 64) % 4000).astype(np.uint16)).save(path)
    assert make_thumbnail(path, 32, tmp_path / "c").max() > 200
