import numpy as np
import pytest
import torch
import torch.nn.functional as F

from fcn_studio.model.backbones import LIGHT_BACKBONES
from fcn_studio.model.bilinear import bilinear_weight
from fcn_studio.model.fcn import FCNConfig, build_fcn
from tests.conftest import smooth_image
from tests.model.caffe_port_reference import randomise_scores_

ODD_SIZES = [(1, 1), (2, 3), (17, 5), (31, 33), (63, 64), (97, 211)]


@pytest.mark.parametrize("arch", ["fcn32s", "fcn16s", "fcn8s"])
@pytest.mark.parametrize("alignment", ["classic", "fast"])
def test_vgg_output_is_exactly_the_input_size(arch, alignment):
    model = build_fcn(arch, "vgg16", num_classes=3, alignment=alignment, fc_channels=16).eval()
    with torch.no_grad():
        for h, w in ODD_SIZES:
            assert model(torch.zeros(1, 3, h, w)).shape == (1, 3, h, w)


@pytest.mark.parametrize("backbone", LIGHT_BACKBONES)
def test_light_backbones_output_is_exactly_the_input_size(backbone):
    model = build_fcn("fcn8s", backbone, num_classes=4).eval()
    with torch.no_grad():
        for h, w in [(1, 1), (37, 70), (65, 33)]:
            assert model(torch.zeros(2, 3, h, w)).shape == (2, 4, h, w)


@pytest.mark.slow
def test_a_4000_pixel_side_keeps_its_size():
    model = build_fcn("fcn8s", "mobilenet_v3_small", num_classes=2).eval()
    with torch.no_grad():
        assert model(torch.zeros(1, 3, 4001, 35)).shape == (1, 2, 4001, 35)


def test_vgg_layout_follows_the_caffe_release():
    model = build_fcn("fcn8s", "vgg16", alignment="classic")
    feats = model.backbone.features
    convs = [m for m in feats if isinstance(m, torch.nn.Conv2d)]
    pools = [m for m in feats if isinstance(m, torch.nn.MaxPool2d)]
    assert len(convs) == 13 and convs[0].padding == (100, 100) and all(p.ceil_mode for p in pools)
    assert model.backbone.fc6.kernel_size == (7, 7) and model.backbone.fc6.out_channels == 4096
    assert model.backbone.fc7.kernel_size == (1, 1)
    assert (model.upscore2.kernel_size, model.upscore2.stride) == ((4, 4), (2, 2))
    assert (model.upscore8.kernel_size, model.upscore8.stride) == ((16, 16), (8, 8))
    assert model.upscore8.bias is None and model.upscore8.weight.requires_grad
    fast = build_fcn("fcn8s", "vgg16", alignment="fast", fc_channels=8)
    assert fast.backbone.features[0].padding == (1, 1)
    assert set(fast.state_dict()) == set(build_fcn("fcn8s", "vgg16", alignment="classic", fc_channels=8).state_dict())


def test_classic_alignment_is_only_for_vgg():
    with pytest.raises(ValueError, match="classic"):
        FCNConfig(backbone="resnet18", alignment="classic") and build_fcn("fcn8s", "resnet18", alignment="classic")


@pytest.mark.parametrize("arch,layer,factor", [("fcn8s", "upscore8", 8), ("fcn16s", "upscore16", 16),
                                               ("fcn32s", "upscore", 32), ("fcn8s", "upscore2", 2)])
def test_initial_upconvolutions_equal_bilinear_upsampling(arch, layer, factor):
    deconv = getattr(build_fcn(arch, "resnet18", num_classes=3), layer)
    assert torch.equal(deconv.weight, bilinear_weight(3, 2 * factor))
    x = torch.randn(1, 3, 9, 11)
    with torch.no_grad():
        ours = deconv(x)
    ref = F.interpolate(x, scale_factor=factor, mode="bilinear", align_corners=False)
    assert ours.shape == ref.shape
    m = factor  # borders differ: the deconvolution sees zeros beyond the edge, interpolation clamps
    assert torch.allclose(ours[..., m:-m, m:-m], ref[..., m:-m, m:-m], atol=1e-5)


def test_bilinear_kernel_is_the_caffe_one():
    k = bilinear_weight(1, 4)[0, 0]
    row = torch.tensor([0.25, 0.75, 0.75, 0.25])
    assert torch.allclose(k, row[:, None] * row[None, :])


def test_classic_and_fast_agree_in_shape_and_semantics_on_a_smooth_input():
    torch.manual_seed(0)
    classic = build_fcn("fcn8s", "vgg16", num_classes=4, alignment="classic", fc_channels=64).eval()
    randomise_scores_(classic, std=0.05)
    fast = build_fcn("fcn8s", "vgg16", num_classes=4, alignment="fast", fc_channels=64).eval()
    fast.load_state_dict(classic.state_dict())
    x = torch.from_numpy(smooth_image(160, 192)).permute(2, 0, 1)[None].float() / 16 - 8
    with torch.no_grad():
        a, b = classic(x), fast(x)
    assert a.shape == b.shape == (1, 4, 160, 192)
    inner = (slice(None), slice(None), slice(32, -32), slice(32, -32))
    corr = np.corrcoef(a[inner].flatten().numpy(), b[inner].flatten().numpy())[0, 1]
    # Random weights leave many near-ties; judge the labels where classic is clearly decided.
    top2 = a[inner].topk(2, dim=1).values
    margin = top2[:, 0] - top2[:, 1]
    decided = margin > margin.median()
    agree = (a[inner].argmax(1) == b[inner].argmax(1))[decided].float().mean().item()
    assert corr > 0.9 and agree > 0.95, (corr, agree)


@pytest.mark.parametrize("backbone,alignment", [("resnet18", "fast"), ("vgg16", "classic")])
def test_at_once_skip_scaling_multiplies_each_skip_by_its_own_factor(backbone, alignment):
    """pool4 x 0.01 and pool3 x 0.0001 before the 1x1 score layers equals scores whose weights carry
    the factors; the skip terms are linear in their weights, so the match is exact up to rounding."""
    torch.manual_seed(0)
    kw = {"num_classes": 3, "alignment": alignment, "fc_channels": 16}
    scaled = build_fcn("fcn8s", backbone, pool4_scale=0.01, pool3_scale=0.0001, **kw).eval()
    randomise_scores_(scaled, std=1.0)
    folded = build_fcn("fcn8s", backbone, **kw).eval()
    folded.load_state_dict(scaled.state_dict())
    with torch.no_grad():
        folded.score_pool4.weight.mul_(0.01)
        folded.score_pool3.weight.mul_(0.0001)
    unscaled = build_fcn("fcn8s", backbone, **kw).eval()
    unscaled.load_state_dict(scaled.state_dict())
    x = torch.randn(1, 3, 64, 64) * 50
    with torch.no_grad():
        a, b, c = scaled(x), folded(x), unscaled(x)
    assert torch.allclose(a, b, rtol=1e-5, atol=1e-5 * a.abs().max().item())
    assert not torch.allclose(a, c, rtol=1e-2, atol=1e-2 * a.abs().max().item())
