"""Predicting a slide tile row by tile row gives the labels the predictor gives the whole image in
memory, written as a pyramidal OME-TIFF whose coarser levels are sampled labels, while holding only a
row of prediction tiles and a band of the output."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import tifffile
import torch
import zarr

from fcn_studio.core.slide import TileCache, open_slide
from fcn_studio.inference.predictor import Predictor
from fcn_studio.inference.slide_predict import PredictedRows, predict_slide
from fcn_studio.inference.tiling import plan_tiles
from fcn_studio.model.fcn import build_fcn
from fcn_studio.model.input_spec import IMAGENET
from tests.core.slide.conftest import halvings, photo, write_tiff
from tests.model.caffe_port_reference import randomise_scores_


def _predictor() -> Predictor:
    torch.manual_seed(0)
    model = build_fcn("fcn8s", "resnet18", num_classes=4)
    randomise_scores_(model, std=0.05)
    for name in ("score_fr", "score_pool4", "score_pool3"):  # no bias: every class shows somewhere
        with torch.no_grad():
            getattr(model, name).bias.zero_()
    return Predictor(model, IMAGENET, device="cpu", precision="float32", tile=128, overlap=32, max_pixels=128 * 128)


@pytest.mark.slow
def test_slide_labels_equal_the_whole_image_prediction_and_levels_are_sampled(tmp_path):
    image = photo(600, 300)
    slide_path = write_tiff(tmp_path / "s.tif", halvings(image, 2), tile=(64, 64), compression="jpeg")
    predictor = _predictor()
    seen = []
    with open_slide(slide_path, cache=TileCache()) as slide:
        decoded = slide.read_region(0, (0, 0, 600, 300))
        out = predict_slide(predictor, slide, tmp_path / "labels.ome.tif", progress=lambda d, t: seen.append((d, t)))
    truth = predictor._predict_tiled(decoded).labels  # the whole image in memory, the same tiles
    assert len(np.unique(truth)) > 1  # a real map, not one class
    with tifffile.TiffFile(out) as tif:
        levels = tif.series[0].levels
        assert [lv.shape for lv in levels] == [(600, 300), (300, 150)] and levels[0].keyframe.is_tiled
        np.testing.assert_array_equal(levels[0].asarray(), truth)
        np.testing.assert_array_equal(levels[1].asarray(), truth[::2, ::2])
    assert seen[-1][0] == seen[-1][1] > 4 and [d for d, _ in seen] == sorted({d for d, _ in seen})


def test_memory_holds_a_row_of_prediction_tiles_not_the_slide(tmp_path):
    slide_path = write_tiff(tmp_path / "s.tif", halvings(photo(1100, 100), 2), tile=(64, 64))
    predictor = _predictor()
    with open_slide(slide_path, cache=TileCache()) as slide:
        rows = PredictedRows(predictor, slide)
        for y0 in range(0, 1100, 512):  # as the pyramid writer asks
            rows.band(y0, min(1100, y0 + 512))
    assert rows._next == len(rows._rows)
    assert rows.most_rows_held <= 512 + predictor.tile  # a band and one row of tiles, of 1100 rows


@pytest.mark.slow
def test_prediction_into_a_label_pyramid_goes_outward_from_the_view_and_resumes(tmp_path):
    from fcn_studio.core.slide.pyramid_writer import Cancelled
    from fcn_studio.inference.slide_predict import predict_into_pyramid
    from fcn_studio.project.label_pyramid import LabelPyramid

    image = photo(600, 200)
    predictor = _predictor()
    pyramid = LabelPyramid.create(tmp_path / "predictions" / "s.zarr", (600, 200), chunk=256)
    cancel = threading.Event()
    order = []
    with open_slide(write_tiff(tmp_path / "s.tif", halvings(image, 2)), cache=TileCache()) as slide:
        real_write = pyramid.write

        def write(rect, patch):  # the rectangles in the order they are written
            order.append(rect)
            real_write(rect, patch)
            if len(order) == 3:
                cancel.set()

        pyramid.write = write
        with pytest.raises(Cancelled):
            predict_into_pyramid(predictor, slide, pyramid, around=(560.0, 20.0), cancel=cancel)
        assert len(order) == 3 and order[0][0] <= 560 < order[0][2] and order[0][1] <= 20 < order[0][3]
        corner = [np.hypot(max(0, r[0] - 560, 560 - r[2]), max(0, r[1] - 20, 20 - r[3])) for r in order]
        assert corner == sorted(corner)  # outward from the view
        again = LabelPyramid.open(tmp_path / "predictions" / "s.zarr")  # as after a restart
        total = len(plan_tiles(600, 200, predictor.tile, predictor.overlap))
        assert predict_into_pyramid(predictor, slide, again) == total - 3  # the 3 done are not redone
        assert predict_into_pyramid(predictor, slide, again) == 0
        truth = predictor._predict_tiled(slide.read_region(0, (0, 0, 600, 200))).labels
    group = zarr.open_group(str(tmp_path / "predictions" / "s.zarr"), mode="r")
    np.testing.assert_array_equal(group["0"][:], truth)
    np.testing.assert_array_equal(group["1"][:], truth[::2, ::2])


def test_confidence_is_written_beside_the_labels_and_the_least_certain_region_is_found(tmp_path):
    from fcn_studio.inference.slide_predict import confidence_byte, least_certain_region, predict_into_pyramid
    from fcn_studio.project.label_pyramid import LabelPyramid

    image = photo(300, 200)
    predictor = _predictor()
    labels = LabelPyramid.create(tmp_path / "labels.zarr", (300, 200))
    confidence = LabelPyramid.create(tmp_path / "confidence.zarr", (300, 200))
    with open_slide(write_tiff(tmp_path / "s.tif", halvings(image, 2)), cache=TileCache()) as slide:
        predict_into_pyramid(predictor, slide, labels, confidence=confidence)
        truth = predictor._predict_tiled(slide.read_region(0, (0, 0, 300, 200))).confidence
    stored = confidence.read(0, (0, 0, 300, 200))
    assert stored.max() <= 254 and np.abs(stored.astype(int) - confidence_byte(truth)).max() <= 1

    conf = LabelPyramid.create(tmp_path / "c.zarr", (4096, 4096))  # a slide with a few predicted windows
    person = LabelPyramid.create(tmp_path / "p.zarr", (4096, 4096))
    assert least_certain_region(conf) is None  # nothing predicted yet
    conf.write((0, 0, 2048, 4096), np.full((2048, 4096), 250, np.uint8))
    conf.write((0, 1024, 1024, 2048), np.full((1024, 1024), 40, np.uint8))  # unsure here
    conf.write((1024, 3072, 2048, 4096), np.full((1024, 1024), 90, np.uint8))  # and a little here
    assert least_certain_region(conf, person) == (0, 1024, 1024, 2048)
    person.write((500, 1500, 520, 1520), np.ones((20, 20), np.uint8))  # a person labelled in it
    assert least_certain_region(conf, person) == (1024, 3072, 2048, 4096)
