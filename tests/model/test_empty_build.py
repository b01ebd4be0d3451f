"""Loading a checkpoint builds the network empty (meta device) and assigns the file's tensors: the
result must be the very model that was saved, in the layout asked for, and a tensor the file cannot
fill must be a one-line error, never a model with holes."""

import pytest
import torch
from safetensors.torch import save_file

from fcn_studio.core.labels import LabelSet
from fcn_studio.model import checkpoint as checkpoint_module
from fcn_studio.model.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from fcn_studio.model.factory import new_model
from fcn_studio.model.fcn import FCN, FCNConfig, build_empty

LABELS = LabelSet(("bg", "leaf", "stem"), ((0, 0, 0), (0, 255, 0), (139, 69, 19)))


def _trained_like(model: FCN) -> FCN:
    """Weights and BatchNorm statistics that differ from any initialisation, as after training."""
    torch.manual_seed(1)
    with torch.no_grad():
        for t in model.state_dict().values():
            if t.is_floating_point():
                t.copy_(torch.rand_like(t) * 0.1 + 0.01)
            else:
                t.fill_(7)
    return model.eval()


def test_an_empty_network_has_its_shapes_but_no_memory():
    model = build_empty(FCNConfig(backbone="vgg16", alignment="classic", fc_channels=64))
    eager = FCN(FCNConfig(backbone="vgg16", alignment="classic", fc_channels=64))
    assert all(t.is_meta for t in model.state_dict().values())
    assert {k: v.shape for k, v in model.state_dict().items()} == {k: v.shape for k, v in eager.state_dict().items()}
    assert not any(t.is_meta for t in eager.state_dict().values())


@pytest.mark.parametrize("norm", ["batch", "group"])
@pytest.mark.parametrize("backbone", ["vgg16", "mobilenet_v3_small", "resnet18"])
def test_a_loaded_model_equals_the_one_saved(tmp_path, backbone, norm):
    extra = {"fc_channels": 64} if backbone == "vgg16" else {}
    model, info, _ = new_model("fcn8s", backbone, LABELS, weights=None, norm=norm, **extra)
    assert info.config.norm == norm
    model = _trained_like(model)
    path = tmp_path / "m.safetensors"
    save_checkpoint(path, model, info)
    loaded, _ = load_checkpoint(path)
    saved = model.state_dict()
    assert saved.keys() == loaded.state_dict().keys()
    for k, v in loaded.state_dict().items():
        assert v.device.type == "cpu" and v.dtype == saved[k].dtype and torch.equal(v, saved[k]), k
    assert all(p.requires_grad for p in loaded.parameters())  # trainable, as the trainer needs
    x = torch.rand(1, 3, 70, 90)
    with torch.inference_mode():
        if norm == "batch":
            assert torch.equal(loaded(x), model(x))
        else:  # GroupNorm's CPU kernel may reduce in another order for the assigned tensors' strides
            torch.testing.assert_close(loaded(x), model(x), rtol=1e-4, atol=1e-5)


def test_channels_last_loading_gives_channels_last_weights_and_the_same_output(tmp_path):
    model, info, _ = new_model("fcn8s", "mobilenet_v3_small", LABELS, weights=None)
    model = _trained_like(model)
    path = tmp_path / "m.safetensors"
    save_checkpoint(path, model, info)
    loaded, _ = load_checkpoint(path, memory_format=torch.channels_last)
    convs = [m.weight for m in loaded.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(w.is_contiguous(memory_format=torch.channels_last) for w in convs)
    x = torch.rand(1, 3, 64, 64)
    with torch.inference_mode():
        torch.testing.assert_close(loaded(x.contiguous(memory_format=torch.channels_last)), model(x))


def test_a_float16_file_loads_as_float32(tmp_path):
    model, info, _ = new_model("fcn32s", "mobilenet_v3_small", LABELS, weights=None)
    path = tmp_path / "m.safetensors"
    save_checkpoint(path, model, info)
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
        half = {k: (f.get_tensor(k).half() if f.get_tensor(k).is_floating_point() else f.get_tensor(k))
                for k in f.keys()}  # noqa: SIM118
    save_file(half, str(path), metadata=meta)
    loaded, _ = load_checkpoint(path)
    assert {t.dtype for t in loaded.parameters()} == {torch.float32}


def test_a_tensor_the_file_cannot_fill_is_a_one_line_error(tmp_path, monkeypatch):
    """A network with a computed (non-persistent) buffer, which no file holds: the load must refuse
    rather than hand back a model with a tensor still on the meta device."""
    model, info, _ = new_model("fcn32s", "mobilenet_v3_small", LABELS, weights=None)
    path = tmp_path / "m.safetensors"
    save_checkpoint(path, model, info)

    def with_computed_buffer(config):
        empty = build_empty(config)
        empty.register_buffer("lookup", torch.empty(3, device="meta"), persistent=False)
        return empty

    monkeypatch.setattr(checkpoint_module, "build_empty", with_computed_buffer)
    with pytest.raises(CheckpointError, match=r"cannot give \(lookup\)") as caught:
        load_checkpoint(path)
    assert str(caught.value).startswith(f"{path}: ") and "\n" not in str(caught.value)
