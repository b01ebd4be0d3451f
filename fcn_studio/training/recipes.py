"""Training recipes. `interactive` learns from a handful of corrected images in minutes (pretrained
encoder, normalised loss, AdamW, poly schedule, mixed precision on GPUs). `paper` follows the FCN
release: per-pixel summed loss, batch 1, SGD momentum 0.99, weight decay 5e-4, biases at twice the
learning rate without decay, a fixed rate, whole images; staged 32s -> 16s -> 8s, or the at-once
FCN-8s with pool4 and pool3 scaled by 0.01 and 0.0001."""

from __future__ import annotations

from dataclasses import dataclass, replace

from fcn_studio.model_choices import COST_GOPS, DILATED_ARCHS

CPU_REFERENCE = "resnet18"  # the recipe's batch is sized for this backbone's step on a CPU


@dataclass(frozen=True)
class Recipe:
    name: str
    optimizer: str  # "adamw" or "sgd"
    lr: float
    momentum: float = 0.9
    weight_decay: float = 1e-4
    bias_lr_mult: float = 1.0
    bias_decay: bool = True
    encoder_lr_mult: float = 1.0  # for a pretrained encoder: learn the head faster than the features
    schedule: str = "poly"  # "poly" or "fixed"
    loss: str = "mean"  # "mean" (normalised) or "sum" (per-pixel summed, as the release)
    batch_size: int = 8
    crop: int | None = 320  # None: whole images (batch 1)
    scale: tuple[float, float] = (0.75, 1.5)
    flip: bool = True
    jitter: float = 0.1
    amp: bool = True  # mixed precision: float16 on GPUs, bfloat16 on CPUs that have it (inference.precision)
    stages: tuple[tuple[str, float], ...] = ()  # (arch, lr) per stage, for staged training
    at_once: bool = False


INTERACTIVE = Recipe("interactive", "adamw", lr=3e-3, weight_decay=1e-4, encoder_lr_mult=0.1)
PAPER = Recipe("paper", "sgd", lr=1e-10, momentum=0.99, weight_decay=5e-4, bias_lr_mult=2.0, bias_decay=False,
               schedule="fixed", loss="sum", batch_size=1, crop=None, scale=(1.0, 1.0), flip=False, jitter=0.0,
               amp=False, stages=(("fcn32s", 1e-10), ("fcn16s", 1e-12), ("fcn8s", 1e-13)))
PAPER_AT_ONCE = replace(PAPER, name="paper-at-once", stages=(), at_once=True)
RECIPES = {r.name: r for r in (INTERACTIVE, PAPER, PAPER_AT_ONCE)}


def get_recipe(name: str) -> Recipe:
    try:
        return RECIPES[name]
    except KeyError:
        raise ValueError(f"unknown recipe {name!r}; choose one of {', '.join(RECIPES)}") from None


def check_recipe_fits(arch: str, from_checkpoint: bool, recipe: Recipe) -> None:
    """The paper's recipes grow the FCN-8s skip heads (32s -> 16s -> 8s, or at once with scaled skips); a
    new dilated-ResNet FCN has none, so they are refused before anything starts (a checkpoint is trained
    as it is, in one stage)."""
    if not from_checkpoint and arch in DILATED_ARCHS and (recipe.stages or recipe.at_once):
        how = "in stages (32s -> 16s -> 8s)" if recipe.stages else "at once with scaled pool3/pool4 skips"
        raise ValueError(f"recipe {recipe.name!r} trains the paper's FCN-8s skip heads {how}; {arch} is a "
                         f"dilated-ResNet FCN without them: use --recipe interactive")


def cpu_batch_size(recipe_batch: int, arch: str, backbone: str) -> int:
    """The batch for a training step on a CPU. A step's time grows with the encoder's cost: VGG16 at the
    recipe's 8 crops takes about 10 s on two cores, so a 3-minute run makes some 15 steps and learns
    nothing. Heavier encoders take fewer crops per step (the compute of ResNet-18's 8, at least 2), so
    every backbone takes enough steps to learn from a few images in minutes; GPUs keep the recipe's."""
    cost = COST_GOPS.get(arch if arch in DILATED_ARCHS else backbone)
    if cost is None:
        return recipe_batch
    return min(recipe_batch, max(2, round(recipe_batch * COST_GOPS[CPU_REFERENCE] / cost)))
