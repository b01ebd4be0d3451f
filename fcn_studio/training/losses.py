"""The per-pixel loss: normalised (mean over labelled pixels) or summed as in the FCN release, with
optional median-frequency class weights and the paper's loss sampling (drop a random share of the
common-class pixels from the loss; rare classes always count). A network with an auxiliary head (the
dilated-ResNet FCNs) adds its loss at AUX_LOSS_WEIGHT."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def segmentation_loss(logits: torch.Tensor, target: torch.Tensor, ignore_index: int, reduction: str = "mean",
                      weights: torch.Tensor | None = None, sampling: float = 1.0) -> torch.Tensor:
    """`ignore_index`: the label set's (LabelSet.ignore_index); those pixels never count."""
    if sampling >= 1.0:  # the common case: PyTorch's fused loss, no per-pixel tensor to mask
        return F.cross_entropy(logits, target, weight=weights, ignore_index=ignore_index, reduction=reduction)
    per_pixel = F.cross_entropy(logits, target, weight=weights, ignore_index=ignore_index, reduction="none")
    keep = target != ignore_index
    if sampling < 1.0:
        counts = torch.bincount(target[keep], minlength=logits.shape[1]).float()
        present = counts[counts > 0]
        common = counts >= present.median() if present.numel() else counts > 0
        is_common = common[target.clamp(max=logits.shape[1] - 1)] & keep
        dropped = is_common & (torch.rand_like(per_pixel) >= sampling)
        keep = keep & ~dropped
    total = per_pixel[keep].sum()
    if reduction == "sum":
        return total
    return total / keep.sum().clamp(min=1)


AUX_LOSS_WEIGHT = 0.5  # torchvision's segmentation reference (references/segmentation/train.py criterion)


def network_loss(outputs: torch.Tensor | tuple[torch.Tensor, torch.Tensor], target: torch.Tensor,
                 ignore_index: int, reduction: str = "mean", weights: torch.Tensor | None = None,
                 sampling: float = 1.0) -> torch.Tensor:
    """The loss of what the network returned in training: its logits, or (logits, aux logits) from a
    network with an auxiliary head, whose loss then counts AUX_LOSS_WEIGHT as much."""
    logits, aux = outputs if isinstance(outputs, tuple) else (outputs, None)
    loss = segmentation_loss(logits.float(), target, ignore_index, reduction, weights, sampling)
    if aux is not None:
        loss = loss + AUX_LOSS_WEIGHT * segmentation_loss(aux.float(), target, ignore_index, reduction, weights,
                                                          sampling)
    return loss


def median_frequency_weights(dataset) -> torch.Tensor:
    """Eigen & Fergus' median frequency balancing over the training masks: freq(c) is the pixel count of
    c over the pixels of the images where c appears; weight(c) = median(freq) / freq(c)."""
    n = len(dataset.labels)
    pixels = np.zeros(n, np.float64)
    image_pixels = np.zeros(n, np.float64)
    for i in range(len(dataset.items)):
        loaded = dataset.try_load(i)
        if not isinstance(loaded, tuple):  # gone since the list was made: the run goes on without it
            continue
        mask = loaded[1]
        counts = np.bincount(mask[mask < n].ravel(), minlength=n)
        pixels += counts
        image_pixels[counts > 0] += mask.size
    freq = np.divide(pixels, image_pixels, out=np.zeros(n), where=image_pixels > 0)
    median = np.median(freq[freq > 0]) if (freq > 0).any() else 1.0
    weights = np.divide(median, freq, out=np.zeros(n), where=freq > 0)
    return torch.tensor(weights, dtype=torch.float32)
