"""The click model's training process as the app starts it (a real child process, its JSON events):
the machine's start model is made from generated images and reads back as a click model; a round on a
project's own masks scores the candidate and the model it would replace on the same validation objects
and saves a version only when it needs fewer clicks; with nothing to learn from, it says so."""

import numpy as np
import torch

from fcn_studio.model.click_net import ClickNet, load_click_model, save_click_model
from tests.training.conftest import easy_project, run_backend

LANE = "fcn_studio.training.click_lane"


def test_the_start_model_is_made_from_generated_images_and_is_a_click_model(tmp_path):
    out = tmp_path / "click-start.safetensors"
    proc, events = run_backend(["--make-start", out, "--steps", "2", "--images", "3"], module=LANE)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert [e["event"] for e in events if e["event"] != "progress"] == ["checkpoint", "finished"]
    assert [e["iteration"] for e in events if e["event"] == "progress"] == [1, 2]
    _net, meta = load_click_model(out)
    assert meta["provenance"]["made"] == "start" and meta["provenance"]["steps"] == 2


def test_a_round_scores_both_models_on_the_same_objects_and_keeps_only_a_better_one(tmp_path):
    project, _recs, _truth = easy_project(tmp_path, count=6, labelled=6)  # 5 train (with held-out regions), 1 val
    root = project.root
    project.close()
    torch.manual_seed(0)
    start = tmp_path / "start.safetensors"
    save_click_model(start, ClickNet().eval(), {"made": "test"})
    proc, events = run_backend([root, "--start", start, "--out", root / "models" / "click", "--first-version", "4",
                                "--round-steps", "2"], module=LANE)
    assert proc.returncode == 0, proc.stderr[-2000:]
    scored = [e for e in events if e["event"] in ("checkpoint", "validation")]
    assert len(scored) == 1 and scored[0]["model"] == "click" and scored[0]["val_objects"] > 0
    result = scored[0]
    assert 1 <= result["noc85"] <= 20 and 1 <= result["previous_noc85"] <= 20
    saved = sorted((root / "models" / "click").glob("*.safetensors"))
    if result["event"] == "checkpoint":
        assert result["noc85"] < result["previous_noc85"] and result["version"] == 4
        assert saved == [root / "models" / "click" / "click-v4.safetensors"]
        load_click_model(saved[0])
    else:
        assert result["noc85"] >= result["previous_noc85"] and saved == []


def test_with_nothing_labelled_a_single_round_says_what_it_needs(tmp_path):
    project, _recs, _truth = easy_project(tmp_path, count=3, labelled=0)
    root = project.root
    project.close()
    start = tmp_path / "start.safetensors"
    save_click_model(start, ClickNet().eval(), {"made": "test"})
    proc, events = run_backend([root, "--start", start, "--out", tmp_path / "out"], module=LANE)
    assert proc.returncode == 1
    assert events[-1]["event"] == "failed" and "nothing to learn from yet" in events[-1]["message"]


def test_training_steps_learn_the_decoder_and_leave_the_imagenet_encoder_as_it_was():
    from fcn_studio.core.sample_data import sample_image
    from fcn_studio.training.click_training import samples_from, train

    torch.manual_seed(0)
    net = ClickNet()
    encoder = {k: v.clone() for k, v in net.encoder.state_dict().items()}
    decoder = net.head4[-1].weight.clone()
    image, mask = sample_image(0, 96, 128)
    losses = []
    groups = [samples_from([image], [mask])]
    assert train(net, groups, steps=3, batch_size=2, on_step=lambda i, loss: losses.append(loss)) == 3
    assert len(losses) == 3 and all(loss > 0 for loss in losses)
    assert all(torch.equal(v, encoder[k]) for k, v in net.encoder.state_dict().items())  # BN statistics too
    assert not torch.equal(net.head4[-1].weight, decoder)


def test_training_shows_negative_clicks_made_before_any_error_outside_the_object_most_beside_it():
    import random

    from fcn_studio.training.click_training import ObjectSample, _first_negatives

    truth = np.zeros((192, 192), bool)
    truth[80:120, 70:110] = True
    sample = ObjectSample(np.zeros((192, 192, 3), np.uint8), truth)
    rng = random.Random(0)
    drawn = [_first_negatives(sample, rng) for _ in range(400)]
    clicks = [c for d in drawn for c in d]
    assert 0.3 < sum(not d for d in drawn) / len(drawn) < 0.7  # half the time none
    assert clicks and not any(c.positive or truth[c.y, c.x] for c in clicks)
    beside = [c for c in clicks if 80 - 13 <= c.y < 120 + 13 and 70 - 13 <= c.x < 110 + 13]
    assert len(beside) > 0.6 * len(clicks)


def test_training_crops_are_turned_mirrored_and_re_exposed_with_their_click_still_on_the_object():
    import random

    from fcn_studio.core.clicks import Click
    from fcn_studio.training.click_training import ObjectSample, _augmented

    truth = np.zeros((192, 192), bool)
    truth[10:30, 100:180] = True  # a bar near the top: where it lands says how the crop was turned
    image = np.zeros((192, 192, 3), np.uint8)
    image[truth] = 200
    sample = ObjectSample(image, truth, ignore=~truth & (np.arange(192)[:, None] > 150))
    rng = random.Random(1)
    seen, exposures = set(), set()
    for _ in range(200):
        turned, click = _augmented(sample, Click(20, 170, True), rng)
        assert turned.truth[click.y, click.x] and turned.truth.sum() == truth.sum()
        assert (turned.image[..., 0] > 100).sum() == truth.sum()  # the image turned with its truth
        assert not (turned.ignore & turned.truth).any() and turned.ignore.sum() == sample.ignore.sum()
        seen.add((click.y, click.x))
        exposures.add(int(turned.image[click.y, click.x, 0]))
    assert len(seen) == 8  # the eight symmetries of a square
    assert len(exposures) > 20  # brightness and contrast vary
