"""Turns a verified catalogue download into what the app uses, one converter per catalogue format:
a state dict becomes the cached ImageNet encoder of its backbone; a .caffemodel and a whole torchvision
segmentation model (fcn_resnet50/101) become a checkpoint in our safetensors format. Torch is imported
only inside the converters."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

from fcn_studio.model.catalogue import Entry


class ConversionUnavailable(ValueError):
    """This build cannot convert the format; the verified download stays in the cache."""


def check_out(entry: Entry, out: Path | None) -> None:
    """Refuses an output path the entry cannot use, before anything is downloaded."""
    if out is not None and entry.format == "state-dict":
        raise ValueError(f"{entry.name} is an encoder: it goes to the model cache, where new "
                         f"{entry.backbone} models find it; --out does not apply")


def install_encoder(entry: Entry, weights: Path, out: Path | None) -> str:
    from fcn_studio.model.pretrained import install_imagenet_encoder  # noqa: PLC0415 (torch)

    check_out(entry, out)
    target, report = install_imagenet_encoder(entry.backbone, weights)
    return f"ImageNet {entry.backbone} encoder installed at {target} ({len(report.loaded)} tensors)"


def convert_caffemodel(entry: Entry, weights: Path, out: Path | None) -> str:
    if importlib.util.find_spec("fcn_studio.model.caffemodel") is None:
        raise ConversionUnavailable(
            f"{weights.name}: downloaded and verified, kept at {weights}; converting .caffemodel files needs "
            f"FCN Studio's Caffe reader (fcn_studio.model.caffemodel), which this build lacks")
    return convert_to_checkpoint(entry, weights, out)


def convert_to_checkpoint(entry: Entry, weights: Path, out: Path | None) -> str:
    """A whole model (caffemodel, torchvision segmentation state dict) to our checkpoint at `out`, else
    the entry's place in the model cache. A file that does not convert stays downloaded and verified."""
    from fcn_studio.model.checkpoint import save_checkpoint  # noqa: PLC0415 (torch)
    from fcn_studio.model.convert import convert_file  # noqa: PLC0415

    target = out or entry.checkpoint_path
    try:
        model, info, report = convert_file(weights, at_once=bool(entry.options.get("at_once")), arch=entry.arch)
        differs = described_differently(entry, info)
        if differs:
            raise ValueError(f"it converts into {differs}")
    except ValueError as exc:
        raise ValueError(f"{weights.name}: downloaded and verified, kept at {weights}, but not converted: "
                         f"{exc}") from None
    save_checkpoint(target, model, info)
    return f"checkpoint written to {target}: {report}"


def described_differently(entry: Entry, info) -> str | None:
    """What a converted model is where it is not what the catalogue describes (architecture, backbone,
    number of classes), or None."""
    config, got = info.config, []
    if config.arch != entry.arch:
        got.append(f"{config.arch}, not the catalogue's {entry.arch}")
    if config.backbone != entry.backbone:
        got.append(f"a {config.backbone} model, not {entry.backbone}")
    if entry.classes and len(info.labels) != len(entry.classes):
        got.append(f"{len(info.labels)} classes, not {len(entry.classes)}")
    return "; ".join(got) or None


Converter = Callable[[Entry, Path, "Path | None"], str]
CONVERTERS: dict[str, Converter] = {"state-dict": install_encoder, "caffemodel": convert_caffemodel,
                                     "torchvision-segmentation": convert_to_checkpoint}


def install(entry: Entry, weights: Path, out: Path | None = None) -> str | None:
    """Converts `weights` (the verified file of `entry`) and says what was made; None when this build
    has no converter for the format, so the download is what the user gets."""
    converter = CONVERTERS.get(entry.format)
    return None if converter is None else converter(entry, weights, out)
