"""An independent reference of the widely used PyTorch port of the Caffe FCN models: the same
layer names, paddings, ceil-mode pooling and crop offsets. Tests build it, save its state dict
as users have it, convert that with FCN Studio and compare outputs."""

import numpy as np
import torch
from torch import nn

VGG_BLOCKS = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))


def upsampling_weight(channels: int, size: int) -> torch.Tensor:
    factor = (size + 1) // 2
    center = factor - 1 if size % 2 == 1 else factor - 0.5
    og = np.ogrid[:size, :size]
    filt = (1 - abs(og[0] - center) / factor) * (1 - abs(og[1] - center) / factor)
    weight = np.zeros((channels, channels, size, size), dtype=np.float64)
    weight[range(channels), range(channels), :, :] = filt
    return torch.from_numpy(weight).float()


class PortFCN(nn.Module):
    def __init__(self, variant: str = "fcn8s", n_class: int = 21, fc: int = 4096, at_once: bool = False):
        super().__init__()
        self.variant, self.at_once = variant, at_once
        in_ch = 3
        for b, (ch, n) in enumerate(VGG_BLOCKS, 1):
            for i in range(1, n + 1):
                pad = 100 if (b, i) == (1, 1) else 1
                setattr(self, f"conv{b}_{i}", nn.Conv2d(in_ch, ch, 3, padding=pad))
                in_ch = ch
        self.fc6 = nn.Conv2d(512, fc, 7)
        self.fc7 = nn.Conv2d(fc, fc, 1)
        self.score_fr = nn.Conv2d(fc, n_class, 1)
        if variant == "fcn32s":
            self.upscore = nn.ConvTranspose2d(n_class, n_class, 64, stride=32, bias=False)
        else:
            self.score_pool4 = nn.Conv2d(512, n_class, 1)
            self.upscore2 = nn.ConvTranspose2d(n_class, n_class, 4, stride=2, bias=False)
        if variant == "fcn16s":
            self.upscore16 = nn.ConvTranspose2d(n_class, n_class, 32, stride=16, bias=False)
        if variant == "fcn8s":
            self.score_pool3 = nn.Conv2d(256, n_class, 1)
            self.upscore_pool4 = nn.ConvTranspose2d(n_class, n_class, 4, stride=2, bias=False)
            self.upscore8 = nn.ConvTranspose2d(n_class, n_class, 16, stride=8, bias=False)
        for m in self.modules():
            if isinstance(m, nn.ConvTranspose2d):
                m.weight.data.copy_(upsampling_weight(m.in_channels, m.kernel_size[0]))

    def forward(self, x):
        h, pools = x, []
        for b, (_, n) in enumerate(VGG_BLOCKS, 1):
            for i in range(1, n + 1):
                h = torch.relu(getattr(self, f"conv{b}_{i}")(h))
            h = nn.functional.max_pool2d(h, 2, stride=2, ceil_mode=True)
            pools.append(h)
        pool3, pool4 = pools[2], pools[3]
        h = torch.relu(self.fc7(torch.relu(self.fc6(h))))
        h = self.score_fr(h)
        if self.variant == "fcn32s":
            return self.upscore(h)[:, :, 19 : 19 + x.size(2), 19 : 19 + x.size(3)]
        up = self.upscore2(h)
        p4 = self.score_pool4(pool4 * 0.01 if self.at_once else pool4)
        h = up + p4[:, :, 5 : 5 + up.size(2), 5 : 5 + up.size(3)]
        if self.variant == "fcn16s":
            return self.upscore16(h)[:, :, 27 : 27 + x.size(2), 27 : 27 + x.size(3)]
        up = self.upscore_pool4(h)
        p3 = self.score_pool3(pool3 * 0.0001 if self.at_once else pool3)
        h = up + p3[:, :, 9 : 9 + up.size(2), 9 : 9 + up.size(3)]
        return self.upscore8(h)[:, :, 31 : 31 + x.size(2), 31 : 31 + x.size(3)]


def randomise_scores_(model: nn.Module, std: float = 0.01) -> None:
    """Score layers start at zero in FCN; give them values so outputs are not all equal."""
    g = torch.Generator().manual_seed(1)
    for name in ("score_fr", "score_pool4", "score_pool3"):
        layer = getattr(model, name, None)
        if layer is not None:
            with torch.no_grad():
                layer.weight.copy_(torch.randn(layer.weight.shape, generator=g) * std)
                layer.bias.copy_(torch.randn(layer.bias.shape, generator=g) * std)


def caffe_input(rgb: np.ndarray) -> torch.Tensor:
    """The port's transform: RGB uint8 -> BGR float, mean subtracted, NCHW."""
    mean_bgr = np.array([104.00698793, 116.66876762, 122.67891434])
    bgr = rgb[:, :, ::-1].astype(np.float64) - mean_bgr
    return torch.from_numpy(bgr.transpose(2, 0, 1).copy()).float()[None]
