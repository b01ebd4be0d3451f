"""VGG16 as FCN's encoder: torchvision's `features` layout (so ImageNet weights load as they are),
ceil-mode pooling, and fc6/fc7 turned into 7x7 and 1x1 convolutions as in the Caffe release.

`classic` pads conv1_1 by 100 pixels (the Caffe release, so converted weights reproduce its numbers);
`fast` uses ordinary padding and relies on the FCN wrapper to pad the input to a multiple of 32.
With `norm="group"` (a VGG16 that starts random, model/norm.py) each convolution is followed by GroupNorm,
as torchvision's vgg16_bn follows it by BatchNorm; the paper's VGG16 has none."""

from __future__ import annotations

import torch
from torch import nn

from fcn_studio.model.norm import check_norm, group_norm

# torchvision's vgg16 "D" configuration: channels, "M" for a pooling layer.
VGG16_CFG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")


class VGG16Encoder(nn.Module):
    supports_classic = True

    def __init__(self, alignment: str = "fast", fc_channels: int = 4096, dropout: float = 0.5,
                 norm: str = "batch") -> None:
        super().__init__()
        check_norm(norm)
        layers: list[nn.Module] = []
        in_ch = 3
        for i, v in enumerate(VGG16_CFG):
            if v == "M":
                layers.append(nn.MaxPool2d(2, stride=2, ceil_mode=True))
            else:
                pad = 100 if (i == 0 and alignment == "classic") else 1
                layers += [nn.Conv2d(in_ch, v, 3, padding=pad), *([group_norm(v)] if norm == "group" else []),
                           nn.ReLU(inplace=True)]
                in_ch = v
        self.features = nn.Sequential(*layers)
        # positions of pool3 and pool4 in `features` (16 and 23 without normalisation, as torchvision counts)
        pools = [i for i, m in enumerate(layers) if isinstance(m, nn.MaxPool2d)]
        self.pool3_index, self.pool4_index = pools[2], pools[3]
        self.fc6 = nn.Conv2d(512, fc_channels, 7, padding=0 if alignment == "classic" else 3)
        self.fc7 = nn.Conv2d(fc_channels, fc_channels, 1)
        self.drop = nn.Dropout(dropout)
        self.channels = (256, 512, fc_channels)
        self.alignment = alignment
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        pool3 = self.features[: self.pool3_index + 1](x)
        pool4 = self.features[self.pool3_index + 1 : self.pool4_index + 1](pool3)
        pool5 = self.features[self.pool4_index + 1 :](pool4)
        h = self.drop(torch.relu(self.fc6(pool5)))
        h = self.drop(torch.relu(self.fc7(h)))
        return pool3, pool4, h
