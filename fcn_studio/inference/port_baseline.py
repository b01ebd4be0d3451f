"""The yardstick for time to first mask: the bare PyTorch port of the Caffe FCN-8s (the layout of
wkentaro/pytorch-fcn's FCN8s: one Conv2d per Caffe layer, conv1_1 padded by 100, crops at 5, 9 and
31), run as its users run it: float32, NCHW, forward passes only, no start-up, loading or decoding."""

from __future__ import annotations

import time

import torch
from torch import nn

_VGG = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512))


class PortFCN8s(nn.Module):
    def __init__(self, num_classes: int = 21) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        in_ch = 3
        for block in _VGG:
            for out_ch in block:
                layers += [nn.Conv2d(in_ch, out_ch, 3, padding=100 if in_ch == 3 else 1), nn.ReLU(inplace=True)]
                in_ch = out_ch
            layers.append(nn.MaxPool2d(2, stride=2, ceil_mode=True))
        self.features = nn.Sequential(*layers)
        self.fc6, self.fc7 = nn.Conv2d(512, 4096, 7), nn.Conv2d(4096, 4096, 1)
        self.drop = nn.Dropout2d()
        self.score_fr = nn.Conv2d(4096, num_classes, 1)
        self.score_pool3 = nn.Conv2d(256, num_classes, 1)
        self.score_pool4 = nn.Conv2d(512, num_classes, 1)
        self.upscore2 = nn.ConvTranspose2d(num_classes, num_classes, 4, stride=2, bias=False)
        self.upscore_pool4 = nn.ConvTranspose2d(num_classes, num_classes, 4, stride=2, bias=False)
        self.upscore8 = nn.ConvTranspose2d(num_classes, num_classes, 16, stride=8, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        pools = []
        for layer in self.features:
            h = layer(h)
            if isinstance(layer, nn.MaxPool2d):
                pools.append(h)
        pool3, pool4 = pools[2], pools[3]
        h = self.drop(torch.relu(self.fc6(h)))
        h = self.drop(torch.relu(self.fc7(h)))
        up2 = self.upscore2(self.score_fr(h))
        s4 = self.score_pool4(pool4)[:, :, 5 : 5 + up2.size(2), 5 : 5 + up2.size(3)]
        up4 = self.upscore_pool4(up2 + s4)
        s3 = self.score_pool3(pool3)[:, :, 9 : 9 + up4.size(2), 9 : 9 + up4.size(3)]
        out = self.upscore8(up4 + s3)
        return out[:, :, 31 : 31 + x.size(2), 31 : 31 + x.size(3)].contiguous()


def time_port_forwards(count: int, size: tuple[int, int], num_classes: int = 21,
                       device: str | torch.device = "cpu") -> float:
    """Seconds for `count` single-image forward passes of the port after one warm-up pass (the warm-up
    is not counted: the baseline is the port at its best)."""
    torch.manual_seed(0)
    model = PortFCN8s(num_classes).to(device).eval()
    x = torch.rand(1, 3, *size, device=device) * 255 - 117
    with torch.no_grad():
        model(x)
        start = time.perf_counter()
        for _ in range(count):
            model(x).argmax(1)
            if torch.device(device).type == "cuda":
                torch.cuda.synchronize()
        return time.perf_counter() - start
