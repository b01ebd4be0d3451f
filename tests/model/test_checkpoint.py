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


def test_damaged_and_foreign_files_give_clear_errors(tmp_path):
    model, info, _ = new_model("fcn8s", "mobilenet_v3_small", weights=None)
    good = tmp_path / "good.safetensors"
    save_checkpoint(good, model, info)
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(good.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="truncated.safetensors"):
        load_checkpoint(truncated)
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
