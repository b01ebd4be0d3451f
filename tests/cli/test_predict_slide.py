"""`fcn-studio predict` on a slide writes its labels as a tiled pyramidal OME-TIFF of the slide's full
size, equal to what the predictor gives the whole image, beside the PNGs of ordinary images."""

import numpy as np
import tifffile
from PIL import Image

from fcn_studio.cli import main
from fcn_studio.core.slide import TileCache, is_slide, open_slide
from fcn_studio.inference.predictor import Predictor
from fcn_studio.model.checkpoint import load_checkpoint, save_checkpoint
from tests.conftest import smooth_image
from tests.core.slide.conftest import halvings, photo, write_tiff
from tests.model.caffe_port_reference import randomise_scores_
from tests.project.test_label_pyramid import class_table


def test_a_flat_tiff_over_the_pixel_limit_is_a_slide(tmp_path, monkeypatch):
    tifffile.imwrite(tmp_path / "flat.tif", smooth_image(40, 50))
    (tmp_path / "text.tif").write_text("not a TIFF")
    assert not is_slide(tmp_path / "flat.tif") and not is_slide(tmp_path / "text.tif")
    monkeypatch.setenv("FCN_STUDIO_MAX_PIXELS", "1999")
    assert is_slide(tmp_path / "flat.tif") and not is_slide(tmp_path / "text.tif")


def test_a_slide_becomes_a_label_pyramid_and_a_flat_image_a_png(tmp_path, capsys):
    model = tmp_path / "tiny.safetensors"
    assert main(["model", "new", "--backbone", "mobilenet_v3_small", "--weights", "none", "--out", str(model)]) == 0
    net, info = load_checkpoint(model)
    randomise_scores_(net, std=0.05)
    save_checkpoint(model, net, info)
    slide_path = write_tiff(tmp_path / "slide.tif", halvings(photo(700, 380), 2), tile=(64, 64), compression="jpeg")
    flat = tmp_path / "flat.tif"
    tifffile.imwrite(flat, smooth_image(40, 50))  # a small flat TIFF stays an ordinary image
    assert is_slide(slide_path) and not is_slide(flat)
    out = tmp_path / "out"
    assert main(["predict", str(slide_path), str(flat), "--model", str(model), "--out", str(out),
                 "--device", "cpu", "--tile", "512"]) == 0
    assert "2 written" in capsys.readouterr().out
    assert np.asarray(Image.open(out / "flat.png")).shape == (40, 50)
    predictor, _ = Predictor.from_checkpoint(model, device="cpu", tile=512)
    with open_slide(slide_path, cache=TileCache()) as slide:
        truth = predictor._predict_tiled(slide.read_region(0, (0, 0, 700, 380))).labels
    with tifffile.TiffFile(out / "slide.ome.tif") as tif:
        assert class_table(tif.ome_metadata)["names"] == list(info.labels.names)
        levels = tif.series[0].levels
        assert [lv.shape for lv in levels] == [(700, 380), (350, 190)] and levels[0].keyframe.is_tiled
        np.testing.assert_array_equal(levels[0].asarray(), truth)
