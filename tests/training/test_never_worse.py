"""A person who corrects a wrong swap must never see it again: keep learning swaps in only a version
that scored better than the model in use on the same held-out pixels. Here the model in use is a good
one and every version the backend trains is deliberately bad (a learning rate that wrecks the weights):
none is offered, although several were validated. Real training, the real backend process."""


from fcn_studio.training.config import TrainConfig
from fcn_studio.training.events import EventWriter
from fcn_studio.training.keep_learning import KeepLearning
from fcn_studio.training.trainer import run
from tests.training.conftest import KEEP_ARGS as TINY
from tests.training.conftest import easy_project, wait_for


def test_a_version_that_validates_worse_than_the_model_in_use_is_never_swapped_in(tmp_path):
    project, _, _ = easy_project(tmp_path, 8, 6)  # 6 corrected: 1 whole validation image + 5 with held-out regions
    project.close()
    root = tmp_path / "p"
    good = root / "models" / "good.safetensors"
    events = EventWriter()
    seen = []
    events.listeners.append(seen.append)
    run(TrainConfig(source=root, out=good, backbone="resnet18", weights=None, crop=32, batch_size=4, lr=0.01,
                    device="cpu", epochs=4), events)
    good_iu = max(e["mean_iu"] for e in seen if e["event"] == "validation")
    assert good_iu > 0.5  # the model in use knows the images
    loop = KeepLearning(root, start_model=good, train_args=[*TINY, "--lr", "50"])  # every step wrecks it
    validations, offered = [], []
    loop.backend_event.connect(lambda e: validations.append(e) if e["event"] == "validation" else None)
    loop.use.connect(offered.append)
    loop.start()
    try:
        assert wait_for(loop, lambda: len(validations) >= 3), f"no validation; status: {loop.status}"
    finally:
        loop.stop()
    assert all(v["val_regions"] == 5 and v["val_images"] == 1 for v in validations)
    assert offered == [] and loop.history == []
    # each bad version was compared with the model in use on the same pixels, and lost
    assert all(v["best_mean_iu"] is not None and v["mean_iu"] < v["best_mean_iu"] for v in validations)
