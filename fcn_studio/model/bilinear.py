"""Bilinear kernels for the learned up-convolutions: at initialisation they upsample exactly like
bilinear interpolation, as in the FCN release, and training is free to move away from that."""

from __future__ import annotations

import torch


def bilinear_kernel_2d(size: int) -> torch.Tensor:
    factor = (size + 1) // 2
    center = factor - 1 if size % 2 == 1 else factor - 0.5
    og = torch.arange(size, dtype=torch.float64)
    filt = 1 - (og - center).abs() / factor
    return (filt[:, None] * filt[None, :]).float()


def bilinear_weight(channels: int, size: int) -> torch.Tensor:
    """A ConvTranspose2d weight (in, out, k, k) that upsamples each channel on its own."""
    weight = torch.zeros(channels, channels, size, size)
    kernel = bilinear_kernel_2d(size)
    for c in range(channels):
        weight[c, c] = kernel
    return weight


def init_bilinear_(deconv: torch.nn.ConvTranspose2d) -> None:
    if deconv.weight.is_meta:  # an empty network (model.fcn.build_empty) gets its weights from a file
        return
    with torch.no_grad():
        k = deconv.kernel_size[0]
        deconv.weight.copy_(bilinear_weight(deconv.in_channels, k))
        if deconv.bias is not None:
            deconv.bias.zero_()
