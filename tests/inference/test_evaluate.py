"""The one evaluation: scores from one histogram over image/mask pairs, reported as (done, total)
like every long operation, with unusable pairs named, not fatal."""

import numpy as np
from PIL import Image

from fcn_studio.core.labels import LabelSet
from fcn_studio.core.mask_io import write_mask
from fcn_studio.inference.evaluate import evaluate_folders, scoring_predictor
from fcn_studio.model.factory import new_model
from fcn_studio.model.input_spec import IMAGENET
from tests.conftest import smooth_image


def test_evaluation_reports_progress_as_done_of_total_and_names_what_it_skipped(tmp_path):
    labels = LabelSet(("background", "thing"), ((0, 0, 0), (255, 0, 0)))
    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir()
    for i in range(2):
        Image.fromarray(smooth_image(40, 48)).save(images / f"{i}.png")
        write_mask(masks / f"{i}.png", np.full((40, 48), i, np.uint8), labels)
    (images / "broken.png").write_bytes(b"not a png")
    write_mask(masks / "broken.png", np.zeros((40, 48), np.uint8), labels)
    model, _, _ = new_model("fcn32s", "mobilenet_v3_small", labels, weights=None)
    calls = []
    result = evaluate_folders(scoring_predictor(model, IMAGENET, "cpu"), labels, images, masks,
                              progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 3), (2, 3), (3, 3)]
    assert result.images == 2 and [p.name for p, _ in result.skipped] == ["broken.png"]
    assert result.scores.pixels == 2 * 40 * 48 and result.mean_iu is not None
