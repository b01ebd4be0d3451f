"""`fcn-studio`: with no arguments the desktop app; subcommands for scripts and servers.
Thin by design: parse, call the layers below, print, choose the exit status. Heavy imports (torch)
happen inside the commands so `--help` stays instant."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fcn_studio import __version__
from fcn_studio.cli.args import OneLineParser, add_precision_argument, existing_dir, output_dir, positive_int
from fcn_studio.cli.commands import (
    cmd_bench,
    cmd_eval,
    cmd_export,
    cmd_import,
    cmd_model_convert,
    cmd_model_info,
    cmd_model_new,
    cmd_project_add,
    cmd_project_new,
    cmd_train,
)
from fcn_studio.cli.errors import run_command
from fcn_studio.cli.models import add_model_commands
from fcn_studio.cli.predict import add_predict_parser
from fcn_studio.model_choices import ARCH_HELP, ARCHS, BACKBONES

COMMANDS = ("model", "project", "train", "export", "import", "predict", "eval", "bench")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or (argv[0] not in COMMANDS and not argv[0].startswith("-")):
        return launch_gui(argv)  # `fcn-studio [PATH...]`: images, folders or a project
    args = build_parser().parse_args(argv)
    if not getattr(args, "func", None):
        return launch_gui([])
    return run_command(lambda: int(args.func(args) or 0), debug=args.debug)


def launch_gui(paths: list[str]) -> int:
    from fcn_studio.ui.app import run_app  # noqa: PLC0415 (Qt only when the GUI is wanted)

    return run_app(paths)


def build_parser() -> argparse.ArgumentParser:
    """Argument types check what they can (a number is positive, a folder is one), so those
    mistakes are argparse's one-line usage errors before anything is loaded."""
    p = OneLineParser(prog="fcn-studio", description="Semantic segmentation datasets with an "
                                "FCN in the loop. Without a command, opens the desktop app.")
    p.add_argument("--version", action="version", version=f"fcn-studio {__version__}")
    p.add_argument("--debug", action="store_true",
                   help="show the traceback of an unexpected error (also: FCN_STUDIO_DEBUG=1)")
    sub = p.add_subparsers(title="commands", metavar="COMMAND")

    model = sub.add_parser("model", help="make, convert and inspect checkpoints").add_subparsers(
        title="model commands", metavar="ACTION", required=True)
    new = model.add_parser("new", help="a fresh model (bilinear up-convolutions, ImageNet encoder if cached)")
    new.add_argument("--arch", default="fcn8s", choices=ARCHS, help=ARCH_HELP)
    new.add_argument("--backbone", choices=BACKBONES, help="default: as `train` and the app choose")
    new.add_argument("--aux-head", action="store_true",
                     help="fcn_resnet50/101 only: add the auxiliary layer3 head (trained with loss weight 0.5)")
    new.add_argument("--classes", default="voc", help="`voc` or a file of class names (one per line)")
    new.add_argument("--alignment", default="fast", choices=("fast", "classic"))
    new.add_argument("--weights", default="imagenet",
                     help="`imagenet` (torchvision's cache), `none`, or a state-dict file for the encoder")
    new.add_argument("--out", required=True, type=Path)
    new.set_defaults(func=cmd_model_new)

    conv = model.add_parser("convert", help="a Caffe .caffemodel, the FCN PyTorch port or torchvision weights "
                                            "to our safetensors format")
    conv.add_argument("src", type=Path)
    conv.add_argument("dst", type=Path)
    conv.add_argument("--classes", help="`voc` or a file of class names, if not VOC's 21")
    conv.add_argument("--at-once", action="store_true",
                      help="the checkpoint is the at-once FCN-8s (pool4 x 0.01, pool3 x 0.0001)")
    conv.add_argument("--arch", choices=ARCHS,
                      help="the model to make: a whole torchvision fcn_resnet50/101 stays itself by default; "
                           "fcn8s|fcn16s|fcn32s (default for encoders) take only its encoder under a new head")
    conv.set_defaults(func=cmd_model_convert)

    info = model.add_parser("info", help="print a checkpoint's metadata")
    info.add_argument("ckpt", type=Path)
    info.add_argument("--json", action="store_true", help="print the raw JSON")
    info.set_defaults(func=cmd_model_info)
    add_model_commands(model)  # list, get: the pretrained-model catalogue

    proj = sub.add_parser("project", help="create projects and add images").add_subparsers(
        title="project commands", metavar="ACTION", required=True)
    pnew = proj.add_parser("new", help="a new project folder (project.sqlite + masks/)")
    pnew.add_argument("dir", type=Path)
    pnew.add_argument("--classes", default="voc", help="`voc` or a file of class names, or a checkpoint's")
    pnew.set_defaults(func=cmd_project_new)
    padd = proj.add_parser("add", help="add image files and folders (recursively) to a project")
    padd.add_argument("dir", type=Path)
    padd.add_argument("paths", nargs="+", type=Path)
    padd.set_defaults(func=cmd_project_add)

    train = sub.add_parser("train", help="fine-tune on a project's corrected masks or a Pascal VOC folder")
    from fcn_studio.training.config import add_arguments  # noqa: PLC0415 (no torch in it)

    add_arguments(train)
    train.set_defaults(func=cmd_train)

    exp = sub.add_parser("export", help="a project's masks as Pascal VOC, COCO, Cityscapes, mask folders or labelme; "
                                        "as GeoJSON polygons (QuPath) or label OME-TIFFs, whole slides included")
    exp.add_argument("project", type=Path)
    exp.add_argument("--format", required=True,
                     choices=("voc", "coco", "cityscapes", "masks", "labelme", "geojson", "ome-tiff"),
                     help="geojson and ome-tiff also take whole slides (read region by region)")
    exp.add_argument("--out", required=True, type=output_dir)
    exp.add_argument("--which", default="human", choices=("reviewed", "human", "all"),
                     help="reviewed only, corrected and reviewed (default), or all with masks")
    exp.add_argument("--val-fraction", type=float, default=0.2,
                     help="train/val come from the project's stored split (the one training uses); this share "
                          "only places images it does not hold yet")
    exp.add_argument("--link", action="store_true", help="link images instead of copying them")
    exp.add_argument("--remap", action="append", default=[], metavar="OLD=NEW",
                     help="rename or merge a class (OLD=NEW), or drop it to ignore (OLD=); repeatable")
    exp.add_argument("--per-component", action="store_true", help="COCO: one annotation per connected region")
    exp.add_argument("--polygons", action="store_true", help="COCO: polygons where they are exact, else RLE")
    exp.add_argument("--replace", action="store_true", help="replace an existing output folder")
    exp.add_argument("--tiles", type=int, metavar="N", help="voc, coco, masks: cut images and masks into N x N "
                                                          "tiles with labels (whole slides too)")
    exp.set_defaults(func=cmd_export)

    imp = sub.add_parser("import", help="labelled images from VOC, COCO, Cityscapes, mask folders or labelme "
                                        "into a project")
    imp.add_argument("project", type=Path)
    imp.add_argument("source", type=Path)
    imp.add_argument("--format", default="auto",
                     choices=("auto", "voc", "coco", "cityscapes", "masks", "labelme", "matched"),
                     help="matched: a folder of masks named like the project's images (auto recognises it)")
    imp.add_argument("--overwrite", action="store_true", help="replace masks a person already corrected")
    imp.add_argument("--images", type=existing_dir, metavar="DIR",
                     help="the folder the images are in, where the dataset's files do not say (COCO)")
    imp.add_argument("--allow-outside", action="store_true",
                     help="follow image paths in the dataset's files that lead outside its folder (../, absolute "
                          "paths); without it they are left out and reported")
    imp.set_defaults(func=cmd_import)

    add_predict_parser(sub)

    ev = sub.add_parser("eval", help="pixel acc., mean acc., mean IU, f.w. IU on image/mask folders")
    ev.add_argument("--model", required=True, type=Path)
    ev.add_argument("--images", required=True, type=existing_dir)
    ev.add_argument("--masks", required=True, type=existing_dir, help="palette PNGs named like the images")
    ev.add_argument("--device", default="auto")
    add_precision_argument(ev, default="float32")
    ev.add_argument("--json", type=Path, help="write the scores as JSON")
    ev.set_defaults(func=cmd_eval)

    bench = sub.add_parser("bench", help="speed of the models on this machine, with baselines")
    bench.add_argument("--size", type=positive_int, nargs="+", default=[500], help="H [W] (default 500)")
    bench.add_argument("--batch", type=positive_int, default=1)
    bench.add_argument("--repeat", type=positive_int, default=3,
                       help="timed forwards per model; with --checkpoint, rounds (the best of each is shown)")
    bench.add_argument("--device", default="auto")
    add_precision_argument(bench)
    bench.add_argument("--nchw", action="store_true", help="plain NCHW memory instead of channels-last")
    bench.add_argument("--models", nargs="+", help="e.g. fcn8s-vgg16-fast fcn8s-resnet18-fast "
                       "fcn_resnet50 torchvision-fcn_resnet50 (default: all)")
    bench.add_argument("--checkpoint", type=Path, help="time to first mask with this model instead: fresh "
                       "`predict` processes, start-up included, float32 and low precision, against the PyTorch port")
    bench.add_argument("--images", type=positive_int, default=6, help="with --checkpoint: images (default 6)")
    bench.add_argument("--image-dir", type=existing_dir, help="with --checkpoint: your images instead of generated "
                       "ones (--size is then theirs)")
    bench.set_defaults(func=cmd_bench)
    return p


