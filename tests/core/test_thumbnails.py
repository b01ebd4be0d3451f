import cv2
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


def test_a_16_bit_thumbnail_is_stretched_as_the_canvas_shows_it(tmp_path):
    """A 12-bit scan in a 16-bit TIFF: the list shows the same contrast as the canvas (not a flat grey
    square), and a thumbnail cached before this rule (under the old key) is not used again."""
    import hashlib

    from fcn_studio.core.image_io import load_image

    ramp = np.tile(np.linspace(1000, 4000, 640), (480, 1)).astype(np.uint16)
    path = tmp_path / "scan.tif"
    Image.fromarray(ramp).save(path)
    cache = tmp_path / "cache"
    cache.mkdir()
    st = path.stat()
    old_key = hashlib.sha1(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|96".encode()).hexdigest()
    Image.new("RGB", (96, 72), (128, 128, 128)).save(cache / f"{old_key}.jpg")  # what the old rule cached
    thumb = make_thumbnail(path, 96, cache)
    shown = load_image(path)
    assert thumb.shape == (72, 96, 3)
    assert thumb[:, 0].mean() < 10 and thumb[:, -1].mean() > 245  # the full 0..255 range, as on the canvas
    assert abs(int(thumb[36, 48, 0]) - int(shown[240, 320, 0])) < 8


def test_a_slides_thumbnail_comes_from_its_coarsest_level_tiff_or_ome_zarr(tmp_path):
    from tests.core.slide.conftest import halvings, photo, write_ome_zarr, write_tiff

    levels = halvings(photo(1600, 2400), 4)  # level 3 is 200 x 300
    tiff = write_tiff(tmp_path / "scan.tif", levels, tile=(128, 128))
    zarr = write_ome_zarr(tmp_path / "scan.ome.zarr", levels)
    for path in (tiff, zarr):
        thumb = make_thumbnail(path, 96, tmp_path / f"cache-{path.suffix}")
        assert thumb.shape == (64, 96, 3)
        coarse = cv2.resize(levels[3], (96, 64), interpolation=cv2.INTER_AREA)
        assert np.abs(thumb.astype(int) - coarse).mean() < 6  # the slide's picture (JPEG-cached), not grey
