import numpy as np
import pytest
from PIL import Image

from fcn_studio.core.image_io import ImageLoadError, image_size, load_image


def _save(tmp_path, img: Image.Image, name: str, **kw):
    path = tmp_path / name
    img.save(path, **kw)
    return path


@pytest.mark.parametrize("mode", ["RGB", "L", "P", "1", "CMYK", "YCbCr"])
def test_opaque_modes_become_rgb_uint8(tmp_path, mode):
    base = Image.fromarray(np.tile(np.arange(0, 256, 4, dtype=np.uint8), (8, 1)), "L").convert("RGB")
    img = base.convert(mode)
    path = _save(tmp_path, img, f"x_{mode}.{'jpg' if mode in ('CMYK', 'YCbCr') else 'png'}"
                 if mode not in ("CMYK",) else "x.tif")
    arr = load_image(path)
    assert arr.dtype == np.uint8 and arr.shape == (8, 64, 3) and arr.flags.c_contiguous


def test_grey_is_repeated_into_three_equal_channels(tmp_path):
    arr = load_image(_save(tmp_path, Image.fromarray(np.full((4, 5), 77, np.uint8), "L"), "g.png"))
    assert (arr == 77).all()


def test_transparency_is_composited_on_white(tmp_path):
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[0, 0, 3] = 255  # opaque red-ish
    rgba[0, 1, 3] = 0  # fully transparent: white
    rgba[1, :, 3] = 128
    arr = load_image(_save(tmp_path, Image.fromarray(rgba, "RGBA"), "a.png"))
    assert tuple(arr[0, 0]) == (200, 0, 0)
    assert tuple(arr[0, 1]) == (255, 255, 255)
    assert abs(int(arr[1, 0, 1]) - 127) <= 1
    la = Image.fromarray(np.stack([np.full((2, 2), 10, np.uint8), np.zeros((2, 2), np.uint8)], -1), "LA")
    assert (load_image(_save(tmp_path, la, "la.png")) == 255).all()


def test_palette_with_a_transparent_index(tmp_path):
    p = Image.fromarray(np.array([[0, 1]], np.uint8), "P")
    p.putpalette([10, 20, 30, 40, 50, 60] + [0] * 762)
    p.info["transparency"] = 1
    arr = load_image(_save(tmp_path, p, "p.png", transparency=1))
    assert tuple(arr[0, 0]) == (10, 20, 30) and tuple(arr[0, 1]) == (255, 255, 255)


def test_sixteen_bit_is_stretched_from_its_own_range(tmp_path):
    data = np.array([[1000, 2000], [3000, 4000]], np.uint16)  # 12-bit microscopy values
    arr = load_image(_save(tmp_path, Image.fromarray(data), "d.png"))
    assert arr[0, 0, 0] == 0 and arr[1, 1, 0] == 255 and 80 <= arr[0, 1, 0] <= 90


def test_float_and_constant_images(tmp_path):
    f = Image.fromarray(np.array([[0.0, 0.5], [1.0, 2.0]], np.float32), "F")
    assert load_image(_save(tmp_path, f, "f.tif"))[1, 1, 0] == 255
    const = Image.fromarray(np.full((3, 3), 500, np.uint16))
    assert (load_image(_save(tmp_path, const, "c.png")) == 0).all()


def test_exif_orientation_is_applied(tmp_path):
    img = Image.new("RGB", (40, 20), (255, 0, 0))
    img.paste((0, 0, 255), (0, 0, 10, 20))  # blue strip on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise for display
    path = _save(tmp_path, img, "rot.jpg", exif=exif, quality=95)
    arr = load_image(path)
    assert arr.shape == (40, 20, 3)
    assert image_size(path) == (20, 40)
    assert arr[2, 10, 2] > 200  # the left strip is now at the top


def test_first_frame_of_a_multi_frame_file(tmp_path):
    frames = [Image.new("RGB", (4, 4), c) for c in ((255, 0, 0), (0, 255, 0))]
    path = tmp_path / "stack.tif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    assert tuple(load_image(path)[0, 0]) == (255, 0, 0)


def test_broken_files_give_an_error_naming_the_file(tmp_path):
    garbage = tmp_path / "garbage.png"
    garbage.write_bytes(b"\x89PNG\r\n\x1a\n" + b"nonsense" * 10)
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    good = tmp_path / "good.jpg"
    Image.new("RGB", (64, 64), (1, 2, 3)).save(good, quality=90)
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(good.read_bytes()[:300])
    text = tmp_path / "notes.png"
    text.write_text("just text")
    for path in (garbage, empty, truncated, text, tmp_path / "missing.png", tmp_path):
        with pytest.raises(ImageLoadError) as info:
            load_image(path)
        assert str(path) in str(info.value)


def test_size_guard_refuses_before_decoding(tmp_path):
    path = _save(tmp_path, Image.new("RGB", (100, 100)), "big.png")
    with pytest.raises(ImageLoadError, match="megapixels"):
        load_image(path, limit=5_000)
    assert load_image(path, limit=10_000).shape == (100, 100, 3)


def test_pillow_decompression_bomb_becomes_our_error(tmp_path, monkeypatch):
    path = _save(tmp_path, Image.new("L", (300, 300)), "bomb.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # Pillow refuses above twice this
    with pytest.raises(ImageLoadError, match="bomb.png"):
        load_image(path, limit=10**9)
