"""The click model's network and file: any image size in, a logit per pixel out; saved and read back
exactly; a file that is not a click model is refused in one line that says why, and never unpickled."""

import pytest
import torch
from safetensors.torch import save_file

from fcn_studio.model.checkpoint import CheckpointError
from fcn_studio.model.click_net import ClickNet, load_click_model, save_click_model


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return ClickNet().eval()


def test_any_size_gives_a_logit_per_pixel_and_the_clicks_change_the_answer(net):
    image = torch.randn(1, 3, 77, 130)
    none, one = torch.zeros(1, 3, 77, 130), torch.zeros(1, 3, 77, 130)
    one[0, 0, 30:40, 60:70] = 1
    with torch.inference_mode():
        a, b = net(image, none), net(image, one)
    assert a.shape == (1, 1, 77, 130)
    assert not torch.allclose(a, b)


def test_features_once_then_decode_per_click_is_the_same_as_the_whole_pass(net):
    image, maps = torch.randn(2, 3, 64, 96), torch.rand(2, 3, 64, 96)
    with torch.inference_mode():
        assert torch.allclose(net.decode(net.features(image), maps), net(image, maps), atol=1e-6)


def test_saved_and_read_back_exactly(net, tmp_path):
    path = tmp_path / "click.safetensors"
    save_click_model(path, net, {"made": "test"})
    again, meta = load_click_model(path)
    image, maps = torch.randn(1, 3, 64, 96), torch.rand(1, 3, 64, 96)
    with torch.inference_mode():
        assert torch.equal(net(image, maps), again(image, maps))
    assert meta["provenance"] == {"made": "test"} and meta["backbone"] == "mobilenet_v2"


def test_bad_files_are_refused_in_one_line(net, tmp_path):
    pickle = tmp_path / "pickle.pt"
    torch.save(net.state_dict(), pickle)
    other = tmp_path / "other.safetensors"
    save_file({"w": torch.zeros(2)}, str(other))
    cut = tmp_path / "cut.safetensors"
    save_click_model(cut, net, {})
    cut.write_bytes(cut.read_bytes()[:5000])
    cases = {tmp_path / "missing.safetensors": "no such click model file", pickle: "pickle",
             other: "not an FCN Studio click model", cut: "not a readable click model"}
    for path, words in cases.items():
        with pytest.raises(CheckpointError) as caught:
            load_click_model(path)
        assert words in str(caught.value) and "\n" not in str(caught.value)
