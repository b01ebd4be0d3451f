"""The subcommands (except predict, in cli.predict): each parses nothing, calls the layers below,
prints, and returns the exit status; errors are raised and turned into one line by cli.errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from fcn_studio.cli.progress import ProgressBar
from fcn_studio.core.splits import measured_on


def cmd_model_new(args) -> int:
    from fcn_studio.core.labels import LabelSet
    from fcn_studio.model.checkpoint import save_checkpoint
    from fcn_studio.model.factory import new_model

    weights = None if args.weights.lower() == "none" else args.weights
    extra = {"with_aux": True} if args.aux_head else {}
    model, info, note = new_model(args.arch, args.backbone, LabelSet.parse(args.classes), args.alignment,
                                  weights, **extra)
    save_checkpoint(args.out, model, info)
    aux = ", aux head" if extra else ""
    print(f"{args.out}: {args.arch} on {info.config.backbone} ({args.alignment}{aux}), {len(info.labels)} classes; "
          f"{note}")
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
    from fcn_studio.model_choices import ARCH_DESCRIPTIONS, DILATED_ARCHS

    info = read_info(args.ckpt)
    if args.json:
        print(json.dumps(info.to_dict(), indent=2))
        return 0
    c, spec, prov = info.config, info.input, info.provenance
    lines = [
        f"checkpoint   {args.ckpt}",
        (f"model        {c.arch} on {c.backbone}, {c.alignment} alignment"
         + (f", fc {c.fc_channels}" if c.backbone == "vgg16" else "")) if c.arch not in DILATED_ARCHS else
        f"model        {ARCH_DESCRIPTIONS[c.arch]}" + (", with aux head" if c.with_aux else ""),
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


def cmd_train(args) -> int:
    """The same backend as the app's, in this process, with a progress bar from its events."""
    from fcn_studio.training.config import config_from_args
    from fcn_studio.training.events import EventWriter
    from fcn_studio.training.runner import train_with_events

    cfg = config_from_args(args)
    events = EventWriter(None, cfg.events)
    bar, total = ProgressBar("train", unit="it"), None  # a run that learns until stopped has no total

    def show(event: dict) -> None:
        nonlocal total
        kind = event["event"]
        if kind == "started":
            print(f"training {event['arch']} on {event['backbone']} ({event['recipe']}) on {event['device']}: "
                  f"{event['train_images']} training images, validated on "
                  f"{measured_on(event['val_images'], event.get('val_regions', 0))}; {event['encoder']}")
            bar.close()  # a staged run starts a bar per stage
            total = event["total_iterations"]
            bar(event.get("start_iteration", 0), total)
        elif kind == "progress":
            bar(event["iteration"], total, loss=f"{event['loss']:.3f}", img_s=f"{event['images_per_s']:.1f}")
        elif kind == "validation":
            mean_iu = "n/a" if event["mean_iu"] is None else f"{event['mean_iu']:.4f}"
            acc = event["pixel_accuracy"]
            bar.write(f"epoch {event['epoch']}: mean IU {mean_iu}, "
                      + (f"pixel accuracy {acc:.4f}" if acc is not None else event.get("note", "nothing scored")))
        elif kind == "warning":
            bar.write(f"warning: {event['message']}")
        elif kind == "finished":
            bar.close()
            best = "n/a (no validation images)" if event["best_mean_iu"] is None else f"{event['best_mean_iu']:.4f}"
            print(f"best mean IU {best}: {event['best_checkpoint']}")
        elif kind == "failed":
            bar.close()
            if event.get("stopped"):  # how a run with no end (--follow) ends: not a failure
                kept = f"the best model so far is {cfg.out}" if Path(cfg.out).is_file() else "no model was saved yet"
                print(f"training stopped; {kept}", file=sys.stderr)
            else:
                print(f"fcn-studio: training failed: {event['message']}", file=sys.stderr)

    events.listeners.append(show)
    try:
        return train_with_events(cfg, events)
    finally:
        bar.close()
        events.close()


def cmd_export(args) -> int:
    from fcn_studio.project.formats import EXPORT_NOTES, ExportOptions, export_project
    from fcn_studio.project.project import Project

    remap = {}
    for item in args.remap:
        old, sep, new = item.partition("=")
        if not sep:
            raise ValueError(f"--remap takes OLD=NEW or OLD=, not {item!r}")
        remap[old] = new or None
    options = ExportOptions(which=args.which, val_fraction=args.val_fraction, link=args.link,
                            remap=remap, replace=args.replace, tiles=args.tiles)
    project = Project.open(args.project)
    progress = ProgressBar("export")
    kwargs = {"per_component": args.per_component, "polygons": args.polygons} if args.format == "coco" else {}
    try:
        count = export_project(project, args.format, args.out, options, progress, **kwargs)
    finally:
        progress.close()
        project.close()
    print(f"{count} images exported to {args.out} ({args.format})")
    if args.format in EXPORT_NOTES:
        print(f"note: {EXPORT_NOTES[args.format]}")
    return 0 if count else 1


def cmd_import(args) -> int:
    from fcn_studio.project.formats import UnknownLayout, import_into
    from fcn_studio.project.project import Project

    project = Project.open(args.project)
    progress = ProgressBar("import")
    try:
        report = import_into(project, args.source, args.format, args.overwrite, progress,
                             outside="follow" if args.allow_outside else "skip", images=args.images)
    except UnknownLayout as exc:
        raise UnknownLayout(f"{exc}; name the format with --format") from None
    finally:
        progress.close()
        project.close()
    for note in report.notes:
        print(f"note: {note}", file=sys.stderr)
    for problem in report.problems:
        print(f"problem: {problem}", file=sys.stderr)
    if report.same_content:
        print(f"{report.same_content} images were already in the project (same content elsewhere): not added again")
    print(f"{report.imported} masks imported, {report.skipped_existing} kept (already corrected; --overwrite "
          f"replaces them), {len(report.problems)} problems"
          + (f"; new classes: {', '.join(report.added_classes)}" if report.added_classes else ""))
    return 1 if report.problems else 0


def cmd_eval(args) -> int:
    from fcn_studio.core.metrics import format_scores
    from fcn_studio.inference.evaluate import evaluate_folders
    from fcn_studio.inference.precision import explain, for_evaluation
    from fcn_studio.inference.predictor import Predictor

    requested = for_evaluation(args.precision)
    predictor, info = Predictor.from_checkpoint(args.model, device=args.device, precision=requested)
    print(explain(predictor.precision, args.precision, predictor.device, info.config.backbone, default="float32"))
    with ProgressBar("eval") as bar:
        result = evaluate_folders(predictor, info.labels, args.images, args.masks, progress=bar)
    for path, why in result.skipped:
        print(f"skipped {path}: {why}", file=sys.stderr)
    if not result.images:
        print("fcn-studio: error: no image could be evaluated", file=sys.stderr)
        return 1
    print(f"{result.images} images, {result.scores.pixels} labelled pixels")
    print(format_scores(result.scores, info.labels.names))
    if args.json:
        from fcn_studio.core.atomic import atomic_write_bytes

        data = {"model": str(args.model), "precision": predictor.precision, "images": result.images,
                "skipped": [[str(p), w] for p, w in result.skipped], **result.scores.to_dict(info.labels.names)}
        atomic_write_bytes(args.json, json.dumps(data, indent=2).encode())
    return 0


def cmd_bench(args) -> int:
    size = (args.size[0], args.size[-1])
    if args.checkpoint:
        from fcn_studio.inference.first_mask import run_first_mask_bench

        run_first_mask_bench(args.checkpoint, args.images, size, args.image_dir, args.device, args.repeat)
        return 0
    from fcn_studio.inference.benchmark import DEFAULT_MODELS, run_benchmark

    run_benchmark(args.models or DEFAULT_MODELS, size=size, batch=args.batch, repeat=args.repeat,
                  device=args.device, precision=args.precision, channels_last=not args.nchw)
    return 0
