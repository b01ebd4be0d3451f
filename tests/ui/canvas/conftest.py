"""The canvas tests' shared parts."""

import pytest
import torch

from fcn_studio.model.click_net import ClickNet, save_click_model


@pytest.fixture
def click_model(tmp_path):
    """A real click model file whose answers vary with the clicks (random weights: what it proposes
    does not matter here, only that the tool paints exactly that)."""
    torch.manual_seed(1)
    net = ClickNet()
    torch.nn.init.normal_(net.head4[-1].weight, std=1.0)  # logits of both signs: a part of the crop is proposed
    torch.nn.init.zeros_(net.head4[-1].bias)  # ... also once averaged over the crop's mirror images
    path = tmp_path / "click.safetensors"
    save_click_model(path, net.eval(), {"made": "test"})
    return path
