import json
import os
import pickle
import zipfile

import pytest
import torch

from fcn_studio.core.labels import LabelSet
from fcn_studio.model.checkpoint import CheckpointError, load_checkpoint, read_info, save_checkpoint
from fcn_studio.model.factory import new_model
from fcn_studio.model.state_dict_io import WeightsFileError, read_state_dict


class Payload:
    """Unpickling this writes a marker file: proof that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _evil_pth(tmp_path):
    marker = tmp_path / "PWNED"
    path = tmp_path / "evil.pth"
    torch.save({"conv1_1.weight": torch.zeros(1), "payload": Payload(str(marker))}, path)
    return path, marker


def test_round_trip_keeps_weights_and_metadata(tmp_path):
    labels = LabelSet(("bg", "leaf", "stem"), ((0, 0, 0), (0, 255, 0), (139, 69, 19)))
    model, info, _ = new_model("fcn16s", "resnet18", labels, weights=None)
    info.provenance["metrics"] = {"mean_iu": 0.5}
    path = tmp_path / "m.safetensors"
    save_checkpoint(path, model, info)
    loaded, info2 = load_checkpoint(path)
    assert info2.config == info.config and info2.labels == labels and info2.input == info.input
    assert info2.provenance["metrics"] == {"mean_iu": 0.5}
    for k, v in model.state_dict().items():
        assert torch.equal(v, loaded.state_dict()[k]), k
    assert read_info(path).labels.names == ("bg", "leaf", "stem")


def test_a_pickle_with_a_payload_is_refused_and_never_runs(tmp_path):
    path, marker = _evil_pth(tmp_path)
    with pytest.raises(WeightsFileError, match="refused"):
        read_state_dict(path)
    with pytest.raises(CheckpointError, match="pickle"):
        load_checkpoint(path)
    # a bare pickle (not torch's zip) is refused just the same
    raw = tmp_path / "raw.pkl"
    raw.write_bytes(pickle.dumps(Payload(str(marker))))
    with pytest.raises(WeightsFileError):
        read_state_dict(raw)
    assert not marker.exists()


def test_a_pickle_renamed_to_safetensors_is_refused(tmp_path):
    path, marker = _evil_pth(tmp_path)
    renamed = tmp_path / "model.safetensors"
    os.rename(path, renamed)
    with pytest.raises(CheckpointError, match="convert"):
        load_checkpoint(renamed)
    assert zipfile.is_zipfile(renamed) and not marker.exists()


@pytest.fixture(scope="module")
def good_checkpoint(tmp_path_factory):
    """A real small checkpoint, its metadata and tensors, to damage in different ways."""
    from safetensors import safe_open

    model, info, _ = new_model("fcn8s", "mobilenet_v3_small", weights=None)
    path = tmp_path_factory.mktemp("good") / "good.safetensors"
    save_checkpoint(path, model, info)
    with safe_open(str(path), "pt") as f:
        meta = json.loads(f.metadata()["fcn_studio"])
        tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
    return path, meta, tensors


def _with(tmp_path, name, meta, tensors, **changes):
    from safetensors.torch import save_file

    meta = json.loads(json.dumps(meta))
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = meta
        for key in parents:
            node = node[key]
        node[last] = value
    path = tmp_path / name
    save_file(tensors, str(path), metadata={"fcn_studio": json.dumps(meta)})
    return path


BAD_FILES = ("random bytes", "empty", "truncated header", "truncated tensors", "bare pickle", "torch pickle",
             "metadata not JSON", "metadata a JSON list", "model not an object", "unknown backbone",
             "negative width", "classes as text", "too few class names")


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory, good_checkpoint) -> dict:
    tmp_path = tmp_path_factory.mktemp("bad")
    good, meta, tensors = good_checkpoint
    data = good.read_bytes()
    files = {}
    for name, content in (("random bytes", os.urandom(4096)), ("empty", b""),
                          ("truncated header", data[:1000]), ("truncated tensors", data[: len(data) // 2]),
                          ("bare pickle", pickle.dumps({"w": [1.0]}, protocol=2))):
        files[name] = tmp_path / f"{name.replace(' ', '-')}.safetensors"
        files[name].write_bytes(content)
    files["torch pickle"] = tmp_path / "torch-pickle.safetensors"
    torch.save(tensors, files["torch pickle"])
    from safetensors.torch import save_file

    files["metadata not JSON"] = tmp_path / "not-json.safetensors"
    save_file(tensors, str(files["metadata not JSON"]), metadata={"fcn_studio": "{model: fcn8s"})
    files["metadata a JSON list"] = tmp_path / "list.safetensors"
    save_file(tensors, str(files["metadata a JSON list"]), metadata={"fcn_studio": "[1, 2]"})
    files["model not an object"] = _with(tmp_path, "model-str.safetensors", meta, tensors, model="fcn8s")
    files["unknown backbone"] = _with(tmp_path, "backbone.safetensors", meta, tensors, model__backbone="vgg19")
    files["negative width"] = _with(tmp_path, "width.safetensors", meta, tensors, model__fc_channels=-3)
    files["classes as text"] = _with(tmp_path, "classes.safetensors", meta, tensors, model__num_classes="21")
    files["too few class names"] = _with(tmp_path, "names.safetensors", meta, tensors,
                                         labels={"names": ["background", "leaf"]})
    return files


@pytest.mark.parametrize("case", BAD_FILES)
def test_damaged_and_foreign_files_give_a_one_line_error_naming_the_file(bad_files, case):
    assert set(bad_files) == set(BAD_FILES)
    path = bad_files[case]
    for reader in (read_info, load_checkpoint):
        with pytest.raises(CheckpointError) as caught:
            reader(path)
        message = str(caught.value)
        assert message.startswith(f"{path}: ") and "\n" not in message, (reader.__name__, message)


def test_tensors_that_do_not_fit_the_declared_network_are_named(tmp_path, good_checkpoint):
    _, meta, tensors = good_checkpoint
    wrong = dict(tensors, **{"score_fr.weight": torch.zeros(5, 576, 1, 1)})
    ints = dict(tensors, **{"score_fr.bias": torch.zeros(21, dtype=torch.int64)})
    cases = {
        _with(tmp_path, "shape.safetensors", meta, wrong): r"score_fr\.weight \(5, 576, 1, 1\) float32 "
                                                           r"\(needs \(21, 576, 1, 1\) float32\)",
        _with(tmp_path, "arch.safetensors", meta, tensors, model__backbone="resnet18"):
            r"fcn8s/resnet18 .*missing: backbone\.conv1\.weight.*unexpected: backbone\.features",
        _with(tmp_path, "fewer.safetensors", meta, {k: v for k, v in tensors.items() if k != "upscore8.weight"}):
            r"missing: upscore8\.weight$",
        _with(tmp_path, "ints.safetensors", meta, ints):
            r"score_fr\.bias \(21,\) int64",
    }
    for path, detail in cases.items():
        read_info(path)  # the metadata alone is fine
        with pytest.raises(CheckpointError, match=detail) as caught:
            load_checkpoint(path)
        message = str(caught.value)
        assert message.startswith(f"{path}: its tensors do not fit") and "\n" not in message, message


def test_a_checkpoint_whose_header_length_starts_like_a_pickle_loads(tmp_path):
    """The first byte of a safetensors file is its header length's low byte, which can be 0x80, a
    pickle's first byte; such a checkpoint is still ours and loads."""
    model, info, _ = new_model("fcn8s", "mobilenet_v3_small", weights=None)
    path = tmp_path / "m.safetensors"
    for pad in range(0, 512, 8):  # the header is padded to 8 bytes; some length ends in 0x80
        info.provenance["note"] = "x" * pad
        save_checkpoint(path, model, info)
        if path.read_bytes()[0] == 0x80:
            break
    assert path.read_bytes()[0] == 0x80
    loaded, info2 = load_checkpoint(path)
    assert info2.provenance["note"] == info.provenance["note"]
    assert torch.equal(loaded.score_fr.weight, model.score_fr.weight)
    assert set(read_state_dict(path)) == set(model.state_dict())


def test_a_missing_file_and_a_plain_state_dict_say_so(tmp_path):
    from safetensors.torch import save_file

    plain = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(2)}, str(plain))
    with pytest.raises(CheckpointError, match="without FCN Studio metadata"):
        load_checkpoint(plain)
    with pytest.raises(CheckpointError, match="no such"):
        load_checkpoint(tmp_path / "missing.safetensors")


def test_metadata_from_the_future_is_refused(tmp_path):
    from safetensors import safe_open
    from safetensors.torch import save_file

    model, info, _ = new_model("fcn8s", "mobilenet_v3_small", weights=None)
    good = tmp_path / "good.safetensors"
    save_checkpoint(good, model, info)
    with safe_open(str(good), "pt") as f:
        meta = json.loads(f.metadata()["fcn_studio"])
        tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
    meta["format_version"] = 99
    future = tmp_path / "future.safetensors"
    save_file(tensors, str(future), metadata={"fcn_studio": json.dumps(meta)})
    with pytest.raises(CheckpointError, match="newer"):
        load_checkpoint(future)


def test_label_set_must_match_the_class_count(tmp_path):
    model, info, _ = new_model("fcn8s", "mobilenet_v3_small", weights=None)
    info.labels = LabelSet(("a", "b"))
    with pytest.raises(CheckpointError, match="21 classes"):
        save_checkpoint(tmp_path / "x.safetensors", model, info)
    assert not (tmp_path / "x.safetensors").exists()


def test_damaged_state_dict_files_give_a_one_line_error_naming_the_file(tmp_path, good_checkpoint):
    good, _, tensors = good_checkpoint
    pth = tmp_path / "whole.pth"
    torch.save(tensors, pth)
    files = {"random.pth": os.urandom(4096), "truncated.pth": pth.read_bytes()[:5000],
             "truncated.safetensors": good.read_bytes()[: good.stat().st_size // 2], "empty.pth": b""}
    for name, content in files.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(WeightsFileError) as caught:
            read_state_dict(path)
        message = str(caught.value)
        assert message.startswith(f"{path}: ") and "\n" not in message, message


def test_a_checkpoint_whose_header_length_starts_like_a_pickle_still_loads(tmp_path):
    """The first byte of a safetensors file is its header length's low byte: 0x80 for 1 file in 32."""
    model, info, _ = new_model("fcn8s", "mobilenet_v3_small", LabelSet.voc(), weights=None)
    path = tmp_path / "m.safetensors"
    for n in range(300):
        info.provenance["note"] = "x" * n
        save_checkpoint(path, model, info)
        if path.read_bytes()[:1] == b"\x80":
            break
    assert path.read_bytes()[:1] == b"\x80"
    assert read_info(path).provenance["note"] == "x" * n
    assert load_checkpoint(path)[0] is not None and read_state_dict(path)

