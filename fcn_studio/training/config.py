"""What a training run is asked to do: one object shared by `fcn-studio train`, `python -m
fcn_studio.training` (also under torchrun) and the app's training panel."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from fcn_studio.model_choices import ARCHS, BACKBONES


@dataclass
class TrainConfig:
    source: Path  # a project folder or a Pascal VOC folder
    out: Path  # the best checkpoint; `<stem>.last.safetensors` and `<stem>.resume.safetensors` beside it
    model: Path | None = None  # start from this checkpoint...
    arch: str = "fcn8s"  # ...or from a new model
    backbone: str = "mobilenet_v2"
    weights: str | None = "imagenet"  # encoder init for a new model: imagenet, a file, or None
    recipe: str = "interactive"
    epochs: int | None = None
    iterations: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    crop: int | None = None
    device: str | None = None
    val_fraction: float = 0.2
    class_weights: bool = False  # median frequency balancing
    loss_sampling: float = 1.0  # keep this fraction of common-class pixels in the loss (rare ones always)
    resume: bool = False
    follow: bool = False  # re-read the project's labelled images at every epoch
    seed: int = 0
    workers: int = 0
    time_limit: float | None = None  # seconds; stop after the iteration that crosses it, then validate
    events: Path | None = None


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", type=Path, help="a project folder or a Pascal VOC folder")
    p.add_argument("--model", type=Path, help="start from this checkpoint")
    p.add_argument("--arch", default="fcn8s", choices=ARCHS)
    p.add_argument("--backbone", default="mobilenet_v2", choices=BACKBONES)
    p.add_argument("--weights", default="imagenet", help="encoder init for a new model: imagenet, none or a file")
    p.add_argument("--recipe", default="interactive", choices=("interactive", "paper", "paper-at-once"))
    length = p.add_mutually_exclusive_group()
    length.add_argument("--epochs", type=int)
    length.add_argument("--iterations", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--crop", type=int)
    p.add_argument("--device", default="auto")
    p.add_argument("--val-fraction", type=float, default=0.2)
    p.add_argument("--class-weights", action="store_true", help="median frequency balancing")
    p.add_argument("--loss-sampling", type=float, default=1.0,
                   help="fraction of common-class pixels kept in the loss (rare classes always kept)")
    p.add_argument("--resume", action="store_true", help="continue from <out stem>.resume.safetensors")
    p.add_argument("--follow", action="store_true", help="new labelled images join the next epoch")
    p.add_argument("--time-limit", type=float, help="stop after this many seconds (then validate and save)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=0)
    p.add_argument("--out", type=Path, help="best checkpoint (default: models/trained.safetensors in a "
                   "project, else ./trained.safetensors)")
    p.add_argument("--events", type=Path, help="also write the JSON-lines events to this file")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    from fcn_studio.project.project import Project  # noqa: PLC0415

    out = args.out or (args.source / "models" / "trained.safetensors" if Project.is_project(args.source)
                       else Path("trained.safetensors"))
    weights = None if str(args.weights).lower() == "none" else args.weights
    return TrainConfig(source=args.source, out=out, model=args.model, arch=args.arch, backbone=args.backbone,
                       weights=weights, recipe=args.recipe, epochs=args.epochs, iterations=args.iterations,
                       batch_size=args.batch_size, lr=args.lr, crop=args.crop,
                       device=None if args.device == "auto" else args.device, val_fraction=args.val_fraction,
                       class_weights=args.class_weights, loss_sampling=args.loss_sampling, resume=args.resume,
                       follow=args.follow, seed=args.seed, workers=args.workers, events=args.events,
                       time_limit=args.time_limit)
