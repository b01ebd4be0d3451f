"""Batch-norm statistics recomputed over the training images before a model is validated or saved
("precise BN", as in Detectron2 and fvcore).

Why: a model's eval mode normalises with running averages that training updates by a small momentum
(torchvision's MobileNetV3 uses 0.01). On a few corrected images a from-scratch run lasts a few hundred
steps, so those averages still describe the random network it started as: the weights have learned
every class (train mode, with batch statistics, shows them) while eval mode predicts only background.
Recomputing the statistics as a plain average over the training batches, with the weights as they are
now, makes eval mode describe the model that was trained. It costs a few forward passes per epoch."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from fcn_studio.training import distributed as D

# Enough batches for stable averages on a labelling project (each batch pools every pixel of its crops).
MAX_BATCHES = 8


def batchnorm_batches(epoch_batches: int) -> int:
    """How many batches to measure with: about a fifth of an epoch's forward passes, so it adds a few
    per cent to an epoch (a forward pass is about a third of a training step), at least two."""
    return min(MAX_BATCHES, max(2, -(-epoch_batches // 5)))


def batchnorm_layers(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]


@torch.no_grad()
def recompute_batchnorm(model: nn.Module, batches: Iterable[torch.Tensor], d: D.Dist | None = None,
                        max_batches: int = MAX_BATCHES) -> int:
    """Replaces every batch-norm layer's running mean and variance by their average over `batches`
    (normalised input tensors), in train mode so each layer sees the statistics training used; with
    several processes the averages are averaged across them. Returns the number of batches used; with
    none (or no batch-norm layer) the model is left exactly as it was. The model's mode is restored."""
    layers = batchnorm_layers(model)
    if not layers:
        return 0
    momenta = [m.momentum for m in layers]
    was_training = model.training
    used = 0
    saved = None
    try:
        model.train()
        for x in batches:
            if used == max_batches:
                break
            if saved is None:  # reset only once there is a batch to measure with
                saved = [(m.running_mean.clone(), m.running_var.clone()) for m in layers]
                for m in layers:
                    m.reset_running_stats()
                    m.momentum = None  # cumulative average over the batches seen
            model(x)
            used += 1
    except BaseException:
        if saved is not None:  # an interrupted recompute leaves the statistics as they were
            for m, (mean, var) in zip(layers, saved, strict=True):
                m.running_mean.copy_(mean)
                m.running_var.copy_(var)
        raise
    finally:
        for m, momentum in zip(layers, momenta, strict=True):
            m.momentum = momentum
        model.train(was_training)
    if d is not None and d.enabled and used:
        for m in layers:
            for t in (m.running_mean, m.running_var):
                t.copy_(D.all_reduce_sum(t.clone(), d) / d.world_size)
    return used
