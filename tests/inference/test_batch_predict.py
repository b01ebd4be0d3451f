"""Predicting many files: a bounded decode window, same-size batches, rank shares; the same files
come out whichever way the work is cut."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fcn_studio.core.labels import LabelSet
from fcn_studio.inference.batch_predict import (
    _Item,
    collect_inputs,
    decode_ahead,
    predict_files,
    same_size_batches,
    shard,
)
from fcn_studio.inference.predictor import Predictor
from fcn_studio.model.factory import new_model
from fcn_studio.model.input_spec import IMAGENET
from tests.conftest import smooth_image
from tests.model.caffe_port_reference import randomise_scores_


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "images"
    (root / "sub").mkdir(parents=True)
    for i in range(7):
        img = np.roll(smooth_image(40, 48), 9 * i, axis=1)
        Image.fromarray(img).save(root / ("sub" if i % 3 == 0 else "") / f"img{i}.png")
    Image.fromarray(smooth_image(33, 21)).save(root / "odd.png")
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff not a jpeg")
    return root


@pytest.fixture(scope="module")
def predictor():
    labels = LabelSet.parse("voc")
    # BatchNorm (a pretrained encoder's): its eval-mode output does not depend on the batch bit for bit;
    # GroupNorm's CPU kernel reduces in an order that depends on the batch size (last-bit differences)
    model, _, _ = new_model("fcn8s", "mobilenet_v3_small", labels, weights=None, norm="batch")
    randomise_scores_(model, std=0.05)  # varied labels, so the comparisons below mean something
    return Predictor(model, IMAGENET, device="cpu"), labels


def test_decoding_stays_a_bounded_window_ahead_of_the_consumer(folder):
    """Executor.map would take (and decode) every file at once; the window takes `ahead` more."""
    pairs = collect_inputs([folder])
    pulled = []

    def lazily():
        for pair in pairs:
            pulled.append(pair)
            yield pair

    seen = 0
    for item in decode_ahead(lazily(), ahead=2):
        seen += 1
        assert len(pulled) <= seen + 2
        assert item.path == pairs[seen - 1][0]  # in order
    assert seen == len(pairs) == 9


def test_consecutive_same_size_images_share_a_batch_and_failures_go_alone():
    def item(name, shape):
        return _Item(Path(name), Path(name), None if shape is None else np.zeros((*shape, 3), np.uint8),
                     None if shape else "bad")

    a, b, c = (8, 8), (8, 9), (12, 12)
    items = [item("1", a), item("2", a), item("3", b), item("4", None), item("5", a), item("6", a), item("7", a),
             item("8", a), item("9", a), item("c1", c), item("c2", c), item("c3", c), item("big", (20, 20)),
             item("huge", (100, 100))]
    batches = same_size_batches(items, batch_size=4, max_pixels=300)
    # c: 144 pixels, two fit in 300; big: 400 fills a pass alone (tiled, in fact)
    assert [[str(i.path) for i in batch] for batch in batches] == [
        ["1", "2"], ["3"], ["4"], ["5", "6", "7", "8"], ["9"], ["c1", "c2"], ["c3"], ["big"], ["huge"]]


def test_rank_shares_are_disjoint_and_cover_every_file(folder):
    pairs = collect_inputs([folder])
    shares = [shard(pairs, r, 3) for r in range(3)]
    assert sorted(p for s in shares for p in s) == sorted(pairs)
    assert sum(len(s) for s in shares) == len(pairs)


def test_batches_shares_and_windows_write_the_same_files(folder, tmp_path, predictor):
    pred, labels = predictor
    pairs = collect_inputs([folder])
    one = predict_files(pred, labels, pairs, tmp_path / "one", confidence=True, batch_size=1, ahead=1)
    assert len(one.written) == 8 and [p.name for p, _ in one.failed] == ["broken.jpg"]
    four = predict_files(pred, labels, pairs, tmp_path / "four", confidence=True, batch_size=4, ahead=3)
    for r in range(2):
        predict_files(pred, labels, shard(pairs, r, 2), tmp_path / "two", confidence=True, batch_size=4)
    expected = sorted(p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*.png"))
    assert len(expected) == 16 and len(four.written) == 8
    for other in ("four", "two"):
        got = sorted(p.relative_to(tmp_path / other) for p in (tmp_path / other).rglob("*.png"))
        assert got == expected
        for rel in expected:
            assert (tmp_path / other / rel).read_bytes() == (tmp_path / "one" / rel).read_bytes(), (other, rel)


def test_progress_counts_every_file_written_or_failed(folder, tmp_path, predictor):
    pred, labels = predictor
    calls = []
    result = predict_files(pred, labels, collect_inputs([folder]), tmp_path / "o",
                           progress=lambda done, total: calls.append((done, total)))
    assert calls == [(k, 9) for k in range(1, 10)]
    assert [p.name for p, _ in result.failed] == ["broken.jpg"] and len(result.written) == 8
