"""What a training run is asked to do: one object shared by `fcn-studio train`, `python -m
fcn_studio.training` (also under torchrun) and the app's training panel. The dataclass is the one place
that defines each default; the command line reads them from it."""

from __future__ import annotations

import argparse
from dataclasses import MISSING, dataclass, fields
from pathlib import Path

from fcn_studio.model_choices import ARCH_HELP, ARCHS, BACKBONES, DEFAULT_ARCH, check_arch_backbone
from fcn_studio.training.recipes import check_recipe_fits, get_recipe


@dataclass
class TrainConfig:
    source: Path  # a project folder or a Pascal VOC folder
    out: Path  # the best checkpoint; `<stem>.last.safetensors` and `<stem>.resume.safetensors` beside it
    model: Path | None = None  # start from this checkpoint...
    arch: str = DEFAULT_ARCH  # ...or from a new model
    backbone: str | None = None  # None: the default backbone (fcn_studio.model.factory.default_backbone)
    aux_head: bool = False  # a new fcn_resnet50/101 with its auxiliary head (loss weight 0.5)
    weights: str | None = "imagenet"  # encoder init for a new model: imagenet, a file, or None
    recipe: str = "interactive"
    epochs: int | None = None
    iterations: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    crop: int | None = None
    device: str | None = None  # None: the best device here
    val_fraction: float = 0.2
    class_weights: bool = False  # median frequency balancing
    loss_sampling: float = 1.0  # keep this fraction of common-class pixels in the loss (rare ones always)
    resume: bool = False
    follow: bool = False  # re-read the project's labelled images at every epoch
    seed: int = 0
    workers: int = 0
    time_limit: float | None = None  # seconds for the whole run (all stages); stop, then validate and save
    events: Path | None = None
    stop_on_stdin: bool = False  # a line "stop" (or the end of stdin) asks the run to stop: the app's Stop


def default(name: str):
    """The dataclass default of one TrainConfig field."""
    field = next(f for f in fields(TrainConfig) if f.name == name)
    if field.default is MISSING:
        raise KeyError(f"TrainConfig.{name} has no default")
    return field.default


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = default
    p.add_argument("source", type=Path, help="a project folder or a Pascal VOC folder")
    p.add_argument("--model", type=Path, help="start from this checkpoint")
    p.add_argument("--arch", default=d("arch"), choices=ARCHS, help=ARCH_HELP)
    p.add_argument("--backbone", default=d("backbone"), choices=BACKBONES,
                   help="default: the first light backbone with ImageNet weights on this machine")
    p.add_argument("--aux-head", action="store_true", default=d("aux_head"),
                   help="a new fcn_resnet50/101 gets torchvision's auxiliary layer3 head (loss weight 0.5)")
    p.add_argument("--weights", default=d("weights"), help="encoder init for a new model: imagenet, none or a file")
    p.add_argument("--recipe", default=d("recipe"), choices=("interactive", "paper", "paper-at-once"))
    length = p.add_mutually_exclusive_group()
    length.add_argument("--epochs", type=int, default=d("epochs"))
    length.add_argument("--iterations", type=int, default=d("iterations"))
    p.add_argument("--batch-size", type=int, default=d("batch_size"))
    p.add_argument("--lr", type=float, default=d("lr"))
    p.add_argument("--crop", type=int, default=d("crop"))
    p.add_argument("--device", default=d("device"), help="cpu, cuda, cuda:1, mps (default: the best one here)")
    p.add_argument("--val-fraction", type=float, default=d("val_fraction"))
    p.add_argument("--class-weights", action="store_true", default=d("class_weights"),
                   help="median frequency balancing")
    p.add_argument("--loss-sampling", type=float, default=d("loss_sampling"),
                   help="fraction of common-class pixels kept in the loss (rare classes always kept)")
    p.add_argument("--resume", action="store_true", default=d("resume"),
                   help="continue from <out stem>.resume.safetensors")
    p.add_argument("--follow", action="store_true", default=d("follow"),
                   help="new labelled images join the next epoch; with no --epochs, --iterations or --time-limit, "
                   "learn until stopped (Ctrl+C, or a line 'stop' with --stop-on-stdin), keeping the best model")
    p.add_argument("--time-limit", type=float, default=d("time_limit"),
                   help="stop the whole run after this many seconds (then validate and save)")
    p.add_argument("--seed", type=int, default=d("seed"))
    p.add_argument("--workers", type=int, default=d("workers"))
    p.add_argument("--out", type=Path, help="best checkpoint (default: models/trained.safetensors in a "
                   "project, else ./trained.safetensors)")
    p.add_argument("--events", type=Path, default=d("events"), help="also write the JSON-lines events to this file")
    p.add_argument("--stop-on-stdin", action="store_true", default=d("stop_on_stdin"),
                   help="stop cleanly when a line 'stop' arrives on stdin or stdin closes (how the app stops a run)")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    from fcn_studio.project.project import Project  # noqa: PLC0415

    out = args.out or (args.source / "models" / "trained.safetensors" if Project.is_project(args.source)
                       else Path("trained.safetensors"))
    weights = None if args.weights is None or str(args.weights).lower() == "none" else args.weights
    device = None if args.device in (None, "auto") else args.device
    if args.model is None:  # usage errors, before any work
        check_arch_backbone(args.arch, args.backbone)
    check_recipe_fits(args.arch, args.model is not None, get_recipe(args.recipe))
    return TrainConfig(source=args.source, out=out, model=args.model, arch=args.arch, backbone=args.backbone,
                       aux_head=args.aux_head,
                       weights=weights, recipe=args.recipe, epochs=args.epochs, iterations=args.iterations,
                       batch_size=args.batch_size, lr=args.lr, crop=args.crop, device=device,
                       val_fraction=args.val_fraction, class_weights=args.class_weights,
                       loss_sampling=args.loss_sampling, resume=args.resume, follow=args.follow, seed=args.seed,
                       workers=args.workers, events=args.events, time_limit=args.time_limit,
                       stop_on_stdin=args.stop_on_stdin)
