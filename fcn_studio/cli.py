"""`fcn-studio`: with no arguments the desktop app; subcommands for scripts and servers.
Thin by design: parse, call the layers below, print, choose the exit status. Heavy imports (torch)
happen inside the commands so `--help` stays instant."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from fcn_studio import __version__
from fcn_studio.model_choices import ARCHS, BACKBONES

COMMANDS = ("model", "project", "train", "export", "import", "predict", "eval", "bench")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or (argv[0] not in COMMANDS and not argv[0].startswith("-")):
        return launch_gui(argv)  # `fcn-studio [PATH...]`: images, folders or a project
    args = build_parser().parse_args(argv)
    if not getattr(args, "func", None):
        return launch_gui([])
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError) as exc:  # our errors name the file and say why
        print(f"fcn-studio: error: {exc}", file=sys.stderr)
        return 2


def launch_gui(paths: list[str]) -> int:
    from fcn_studio.ui.app import run_app  # noqa: PLC0415 (Qt only when the GUI is wanted)

    return run_app(paths)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="fcn-studio", description="Semantic segmentation datasets with an "
                                "FCN in the loop. Without a command, opens the desktop app.")
    p.add_argument("--version", action="version", version=f"fcn-studio {__version__}")
    sub = p.add_subparsers(title="commands", metavar="COMMAND")

    model = sub.add_parser("model", help="make, convert and inspect checkpoints").add_subparsers(
        title="model commands", metavar="ACTION", required=True)
    new = model.add_parser("new", help="a fresh model (bilinear up-convolutions, ImageNet encoder if cached)")
    new.add_argument("--arch", default="fcn8s", choices=ARCHS)
    new.add_argument("--backbone", choices=BACKBONES, help="default: as `train` and the app choose")
    new.add_argument("--classes", default="voc", help="`voc` or a file of class names (one per line)")
    new.add_argument("--alignment", default="fast", choices=("fast", "classic"))
    new.add_argument("--weights", default="imagenet",
                     help="`imagenet` (torchvision's cache), `none`, or a state-dict file for the encoder")
    new.add_argument("--out", required=True, type=Path)
    new.set_defaults(func=cmd_model_new)

    conv = model.add_parser("convert", help="FCN port / torchvision weights to our safetensors format")
    conv.add_argument("src", type=Path)
    conv.add_argument("dst", type=Path)
    conv.add_argument("--classes", help="`voc` or a file of class names, if not VOC's 21")
    conv.add_argument("--at-once", action="store_true",
                      help="the checkpoint is the at-once FCN-8s (pool4 x 0.01, pool3 x 0.0001)")
    conv.add_argument("--arch", default="fcn8s", choices=ARCHS,
                      help="head to put on a converted torchvision encoder")
    conv.set_defaults(func=cmd_model_convert)

    info = model.add_parser("info", help="print a checkpoint's metadata")
    info.add_argument("ckpt", type=Path)
    info.add_argument("--json", action="store_true", help="print the raw JSON")
    info.set_defaults(func=cmd_model_info)

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

    exp = sub.add_parser("export", help="a project's masks as Pascal VOC, COCO, mask folders or labelme")
    exp.add_argument("project", type=Path)
    exp.add_argument("--format", required=True, choices=("voc", "coco", "masks", "labelme"))
    exp.add_argument("--out", required=True, type=Path)
    exp.add_argument("--which", default="human", choices=("reviewed", "human", "all"),
                     help="reviewed only, corrected and reviewed (default), or all with masks")
    exp.add_argument("--val-fraction", type=float, default=0.2)
    exp.add_argument("--seed", type=int, default=0)
    exp.add_argument("--link", action="store_true", help="link images instead of copying them")
    exp.add_argument("--remap", action="append", default=[], metavar="OLD=NEW",
                     help="rename or merge a class (OLD=NEW), or drop it to ignore (OLD=); repeatable")
    exp.add_argument("--per-component", action="store_true", help="COCO: one annotation per connected region")
    exp.add_argument("--polygons", action="store_true", help="COCO: polygons where they are exact, else RLE")
    exp.add_argument("--replace", action="store_true", help="replace an existing output folder")
    exp.set_defaults(func=cmd_export)

    imp = sub.add_parser("import", help="labelled images from VOC, COCO, mask folders or labelme into a project")
    imp.add_argument("project", type=Path)
    imp.add_argument("source", type=Path)
    imp.add_argument("--format", default="auto", choices=("auto", "voc", "coco", "masks", "labelme"))
    imp.add_argument("--overwrite", action="store_true", help="replace masks a person already corrected")
    imp.set_defaults(func=cmd_import)

    pred = sub.add_parser("predict", help="label images and folders to palette PNGs")
    pred.add_argument("inputs", nargs="+", type=Path, help="image files and folders (recursive)")
    pred.add_argument("--model", required=True, type=Path)
    pred.add_argument("--out", required=True, type=Path)
    pred.add_argument("--device", default="auto", help="auto (CUDA, MPS, CPU), cpu, cuda, cuda:1, mps")
    pred.add_argument("--overlay", action="store_true", help="also write <stem>_overlay.jpg")
    pred.add_argument("--confidence", action="store_true", help="also write <stem>_confidence.png")
    pred.add_argument("--opacity", type=float, default=0.5)
    pred.add_argument("--tile", type=int, help="tile side for large images (pixels)")
    pred.set_defaults(func=cmd_predict)

    ev = sub.add_parser("eval", help="pixel acc., mean acc., mean IU, f.w. IU on image/mask folders")
    ev.add_argument("--model", required=True, type=Path)
    ev.add_argument("--images", required=True, type=Path)
    ev.add_argument("--masks", required=True, type=Path, help="palette PNGs named like the images")
    ev.add_argument("--device", default="auto")
    ev.add_argument("--json", type=Path, help="write the scores as JSON")
    ev.set_defaults(func=cmd_eval)

    bench = sub.add_parser("bench", help="speed of the models on this machine, with baselines")
    bench.add_argument("--size", type=int, nargs="+", default=[500], help="H [W] (default 500)")
    bench.add_argument("--batch", type=int, default=1)
    bench.add_argument("--repeat", type=int, default=3)
    bench.add_argument("--device", default="auto")
    bench.add_argument("--precision", choices=("auto", "fp32", "fp16"), default="auto")
    bench.add_argument("--nchw", action="store_true", help="plain NCHW memory instead of channels-last")
    bench.add_argument("--models", nargs="+", help="e.g. fcn8s-vgg16-fast fcn8s-resnet18-fast "
                       "torchvision-fcn_resnet50 (default: all)")
    bench.set_defaults(func=cmd_bench)
    return p


def cmd_model_new(args) -> int:
    from fcn_studio.core.labels import LabelSet
    from fcn_studio.model.checkpoint import save_checkpoint
    from fcn_studio.model.factory import new_model

    weights = None if args.weights.lower() == "none" else args.weights
    model, info, note = new_model(args.arch, args.backbone, LabelSet.parse(args.classes), args.alignment,
                                  weights)
    save_checkpoint(args.out, model, info)
    print(f"{args.out}: {args.arch} on {info.config.backbone} ({args.alignment}), {len(info.labels)} classes; {note}")
    return 0


def cmd_model_convert(args) -> int:
    from fcn_studio.core.labels import LabelSet
    from fcn_studio.model.checkpoint import save_checkpoint
    from fcn_studio.model.convert import convert_file

    labels = LabelSet.parse(args.classes) if args.classes else None
    model, info, report = convert_file(args.src, labels, at_once=args.at_once, arch=args.arch)
    save_checkpoint(args.dst, model, info)
    print(f"{args.dst}: {report}")
    return 0


def cmd_model_info(args) -> int:
    from fcn_studio.model.checkpoint import read_info

    info = read_info(args.ckpt)
    if args.json:
        print(json.dumps(info.to_dict(), indent=2))
        return 0
    c, spec, prov = info.config, info.input, info.provenance
    lines = [
        f"checkpoint   {args.ckpt}",
        f"model        {c.arch} on {c.backbone}, {c.alignment} alignment"
        + (f", fc {c.fc_channels}" if c.backbone == "vgg16" else ""),
        f"classes      {len(info.labels)} (ignore index {info.labels.ignore_index}): {', '.join(info.labels.names)}",
        f"input        {spec.channel_order}, x{spec.scale:g}, mean {list(spec.mean)}, std {list(spec.std)}",
        f"source       {prov.get('source', '?')}",
        f"created      {prov.get('created', '?')} by {prov.get('created_by', '?')}",
        f"trained on   {prov.get('trained_images', 0)} images",
    ]
    if prov.get("backbone_weights"):
        lines.append(f"encoder      {prov['backbone_weights']}")
    for k, v in (prov.get("metrics") or {}).items():
        lines.append(f"metric       {k} = {v}")
    print("\n".join(lines))
    return 0


def _labels_from_spec(spec: str):
    """`voc`, a names file, or a checkpoint whose label set the project should share."""
    from fcn_studio.core.labels import LabelSet

    if spec.endswith(".safetensors"):
        from fcn_studio.model.checkpoint import read_info

        return read_info(spec).labels
    return LabelSet.parse(spec)


def cmd_project_new(args) -> int:
    from fcn_studio.project.project import Project

    project = Project.create(args.dir, _labels_from_spec(args.classes))
    print(f"{args.dir}: new project with {len(project.labels)} classes")
    project.close()
    return 0


def cmd_project_add(args) -> int:
    from fcn_studio.project.project import Project

    project = Project.open(args.dir)
    result = project.add_images(args.paths)
    for path, why in result.skipped:
        print(f"{path}: {why}", file=sys.stderr)
    print(f"{result.added} added, {result.already} already in the project; {sum(project.counts().values())} in all")
    project.close()
    return 1 if result.skipped else 0


def _progress(total: int, desc: str):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="img", disable=None, file=sys.stderr)


def cmd_train(args) -> int:
    """The same backend as the app's, in this process, with a progress bar from its events."""
    from fcn_studio.training.config import config_from_args
    from fcn_studio.training.events import EventWriter
    from fcn_studio.training.runner import train_with_events

    cfg = config_from_args(args)
    events = EventWriter(None, cfg.events)
    bar = None

    def show(event: dict) -> None:
        nonlocal bar
        kind = event["event"]
        if kind == "started":
            print(f"training {event['arch']} on {event['backbone']} ({event['recipe']}) on {event['device']}: "
                  f"{event['train_images']} training / {event['val_images']} validation images; {event['encoder']}")
            bar = _progress(event["total_iterations"], "train")
            bar.update(event.get("start_iteration", 0))
        elif kind == "progress" and bar is not None:
            bar.update(event["iteration"] - bar.n)
            bar.set_postfix(loss=f"{event['loss']:.3f}", img_s=f"{event['images_per_s']:.1f}")
        elif kind == "validation":
            mean_iu = "n/a" if event["mean_iu"] is None else f"{event['mean_iu']:.4f}"
            say = bar.write if bar else print
            acc = event["pixel_accuracy"]
            say(f"epoch {event['epoch']}: mean IU {mean_iu}, "
                + (f"pixel accuracy {acc:.4f}" if acc is not None else event.get("note", "nothing scored")))
        elif kind == "finished":
            if bar is not None:
                bar.close()
            best = "n/a (no validation images)" if event["best_mean_iu"] is None else f"{event['best_mean_iu']:.4f}"
            print(f"best mean IU {best}: {event['best_checkpoint']}")
        elif kind == "failed":
            if bar is not None:
                bar.close()
            print(f"fcn-studio: training failed: {event['message']}", file=sys.stderr)

    events.listeners.append(show)
    try:
        return train_with_events(cfg, events)
    finally:
        events.close()


class _LazyBar:
    """A progress bar that appears when the total is first known."""

    def __init__(self, desc: str) -> None:
        self.desc, self.bar = desc, None

    def __call__(self, done: int, total: int) -> None:
        self.bar = self.bar or _progress(total, self.desc)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def cmd_export(args) -> int:
    from fcn_studio.project.formats import ExportOptions, export_project
    from fcn_studio.project.project import Project

    remap = {}
    for item in args.remap:
        old, sep, new = item.partition("=")
        if not sep:
            raise ValueError(f"--remap takes OLD=NEW or OLD=, not {item!r}")
        remap[old] = new or None
    options = ExportOptions(which=args.which, val_fraction=args.val_fraction, seed=args.seed, link=args.link,
                            remap=remap, replace=args.replace)
    project = Project.open(args.project)
    progress = _LazyBar("export")
    kwargs = {"per_component": args.per_component, "polygons": args.polygons} if args.format == "coco" else {}
    try:
        count = export_project(project, args.format, args.out, options, progress, **kwargs)
    finally:
        progress.close()
        project.close()
    print(f"{count} images exported to {args.out} ({args.format})")
    return 0 if count else 1


def cmd_import(args) -> int:
    from fcn_studio.project.formats import import_into
    from fcn_studio.project.project import Project

    project = Project.open(args.project)
    progress = _LazyBar("import")
    try:
        report = import_into(project, args.source, args.format, args.overwrite, progress)
    finally:
        progress.close()
        project.close()
    for problem in report.problems:
        print(f"problem: {problem}", file=sys.stderr)
    print(f"{report.imported} masks imported, {report.skipped_existing} kept (already corrected; --overwrite "
          f"replaces them), {len(report.problems)} problems"
          + (f"; new classes: {', '.join(report.added_classes)}" if report.added_classes else ""))
    return 1 if report.problems else 0


def cmd_predict(args) -> int:
    from fcn_studio.inference.batch_predict import collect_inputs, predict_files
    from fcn_studio.inference.predictor import Predictor

    predictor, info = Predictor.from_checkpoint(args.model, device=args.device, tile=args.tile)
    total = len(collect_inputs(args.inputs))
    with _progress(total, "predict") as bar:
        result = predict_files(predictor, info.labels, args.inputs, args.out, overlay=args.overlay,
                               confidence=args.confidence, opacity=args.opacity,
                               progress=lambda _p: bar.update())
    for path, why in result.failed:
        print(f"{path}: {why}", file=sys.stderr)
    print(f"{len(result.written)} written to {args.out}, {len(result.failed)} failed")
    return 1 if result.failed or not result.written else 0


def cmd_eval(args) -> int:
    from fcn_studio.core.metrics import format_scores
    from fcn_studio.inference.evaluate import evaluate_folders, pair_images_and_masks
    from fcn_studio.inference.predictor import Predictor

    predictor, info = Predictor.from_checkpoint(args.model, device=args.device)
    pairs, _ = pair_images_and_masks(args.images, args.masks)
    with _progress(len(pairs), "eval") as bar:
        result = evaluate_folders(predictor, info.labels, args.images, args.masks,
                                  progress=lambda _p: bar.update())
    for path, why in result.skipped:
        print(f"skipped {path}: {why}", file=sys.stderr)
    if not result.images:
        print("fcn-studio: error: no image could be evaluated", file=sys.stderr)
        return 1
    print(f"{result.images} images, {result.scores.pixels} labelled pixels")
    print(format_scores(result.scores, info.labels.names))
    if args.json:
        from fcn_studio.core.atomic import atomic_write_bytes

        data = {"model": str(args.model), "images": result.images,
                "skipped": [[str(p), w] for p, w in result.skipped], **result.scores.to_dict(info.labels.names)}
        atomic_write_bytes(args.json, json.dumps(data, indent=2).encode())
    return 0


def cmd_bench(args) -> int:
    from fcn_studio.inference.benchmark import DEFAULT_MODELS, run_benchmark

    size = (args.size[0], args.size[-1])
    half = {"auto": None, "fp32": False, "fp16": True}[args.precision]
    run_benchmark(args.models or DEFAULT_MODELS, size=size, batch=args.batch, repeat=args.repeat,
                  device=args.device, half=half, channels_last=not args.nchw)
    return 0
