"""Converts the FCN weights people have into our checkpoint format.

- The Caffe FCN release's .caffemodel files, read without Caffe (model/caffemodel.py), and the widely
  used PyTorch port of them (keys conv1_1 ... fc6, fc7, score_fr, score_pool4, score_pool3, upscore2,
  upscore_pool4, upscore8 / upscore16 / upscore): both are one state dict with the release's layer
  names, kept in the `classic` alignment with Caffe's input convention, so they give its numbers.
- torchvision's whole fcn_resnet50 / fcn_resnet101 (recognised by backbone.layer4..., classifier.4 and,
  when trained with it, aux_classifier): a dilated-ResNet FCN checkpoint, every tensor as it is.
- torchvision classification state dicts (vgg16, resnet18/34/50, mobilenet_v2/v3) and the encoder of
  torchvision segmentation models (`arch` a paper FCN): the encoder of a fresh model, matched key by key."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch

from fcn_studio.core.labels import VOC_CLASSES, LabelSet
from fcn_studio.model.caffemodel import caffe_port_weights, looks_like_caffemodel, read_caffemodel
from fcn_studio.model.checkpoint import CheckpointInfo, new_provenance
from fcn_studio.model.dilated_fcn import DilatedFCNConfig, DilatedResNetFCN
from fcn_studio.model.fcn import FCN, FCNConfig
from fcn_studio.model.input_spec import CAFFE_VGG, IMAGENET
from fcn_studio.model.network import build_network, is_dilated, make_config
from fcn_studio.model.pretrained import match_and_load
from fcn_studio.model.state_dict_io import read_state_dict

# The port's conv names and their positions in torchvision's VGG16 `features`.
VGG_CONV_INDEX = {
    "conv1_1": 0, "conv1_2": 2, "conv2_1": 5, "conv2_2": 7, "conv3_1": 10, "conv3_2": 12, "conv3_3": 14,
    "conv4_1": 17, "conv4_2": 19, "conv4_3": 21, "conv5_1": 24, "conv5_2": 26, "conv5_3": 28,
}
CAFFE_ORIGIN = "Caffe FCN release, .caffemodel"
PORT_ORIGIN = "PyTorch port of the Caffe FCN release"
TORCHVISION_ORIGIN = "torchvision segmentation model"
AT_ONCE_SCALES = (0.01, 0.0001)  # the at-once FCN-8s's constant Scale layers before score_pool4/3
HEAD_LAYERS = ("score_fr", "score_pool4", "score_pool3", "upscore2", "upscore_pool4", "upscore8",
               "upscore16", "upscore")


class ConversionError(ValueError):
    pass


def convert_file(src: str | Path, labels: LabelSet | None = None, at_once: bool = False,
                 arch: str | None = None) -> tuple[torch.nn.Module, CheckpointInfo, str]:
    """Returns the model, its metadata and a one-paragraph report for the user. `arch`: None converts
    a whole model as it is; a paper FCN (fcn8s ...) takes only the encoder of a torchvision file."""
    src = Path(src)
    if src.is_file() and looks_like_caffemodel(src):
        sd, scales = caffe_port_weights(read_caffemodel(src), src)
        if "conv1_1.weight" not in sd or "score_fr.weight" not in sd:
            raise ConversionError(f"{src}: a Caffe model, but not an FCN of the release (no conv1_1 and "
                                  f"score_fr layers; it has {', '.join(sorted({k.split('.')[0] for k in sd}))})")
        return convert_caffe_port(sd, src, labels, at_once, CAFFE_ORIGIN, scales)
    sd = read_state_dict(src)
    if "conv1_1.weight" in sd and "score_fr.weight" in sd:
        return convert_caffe_port(sd, src, labels, at_once, PORT_ORIGIN)
    whole = detect_torchvision_fcn(sd)
    if whole is not None and (arch is None or is_dilated(arch)):
        return convert_torchvision_fcn(sd, src, labels, whole, arch)
    return convert_torchvision(sd, src, labels, arch or "fcn8s")


def convert_caffe_port(sd: dict[str, torch.Tensor], src: Path, labels: LabelSet | None,
                       at_once: bool, origin: str, skip_scales: tuple[float, float] | None = None,
                       ) -> tuple[FCN, CheckpointInfo, str]:
    """The release's layer names to our FCN. `skip_scales` (from the file's Scale layers, else the
    at-once FCN-8s's constants when `at_once`) multiply pool4 and pool3 before their score layers."""
    if "upscore8.weight" in sd:
        arch = "fcn8s"
    elif "upscore16.weight" in sd:
        arch = "fcn16s"
    elif "upscore.weight" in sd:
        arch = "fcn32s"
    else:
        raise ConversionError(f"{src}: FCN keys but no upscore8/upscore16/upscore layer")
    n = sd["score_fr.weight"].shape[0]
    if skip_scales is None:
        skip_scales = AT_ONCE_SCALES if at_once and arch == "fcn8s" else (1.0, 1.0)
    labels = _labels_for(n, labels, src)
    config = FCNConfig(arch=arch, backbone="vgg16", num_classes=n, alignment="classic",
                       fc_channels=sd["fc6.weight"].shape[0],
                       pool4_scale=skip_scales[0] if arch != "fcn32s" else 1.0,
                       pool3_scale=skip_scales[1] if arch == "fcn8s" else 1.0)
    mapped = {}
    for key, value in sd.items():
        layer, _, kind = key.rpartition(".")
        if layer in VGG_CONV_INDEX:
            mapped[f"backbone.features.{VGG_CONV_INDEX[layer]}.{kind}"] = (key, value)
        elif layer in ("fc6", "fc7"):
            mapped[f"backbone.{layer}.{kind}"] = (key, value)
        elif layer in HEAD_LAYERS:
            mapped[key] = (key, value)
        else:
            raise ConversionError(f"{src}: unexpected key {key!r} for an FCN of the Caffe release")
    model = FCN(config)
    _copy_weights(model, mapped, f"{src}: does not fit {arch} (VGG16, {n} classes, fc {config.fc_channels})")
    info = CheckpointInfo(config, labels, CAFFE_VGG, new_provenance(
        f"converted from {src.name} ({origin})", converted_from=str(src)))
    report = (f"{src.name}: {arch.upper()} (VGG16, {n} classes), all {len(mapped)} tensors converted; "
              f"classic alignment, Caffe input (BGR, 0..255, mean subtracted)"
              + (f"; at-once skip scaling {config.pool4_scale:g} / {config.pool3_scale:g}"
                 if (config.pool4_scale, config.pool3_scale) != (1, 1) else ""))
    return model.eval(), info, report


def _copy_weights(model: torch.nn.Module, mapped: dict[str, tuple[str, torch.Tensor | np.ndarray]],
                  misfit: str) -> None:
    """Copies every value into its parameter in place. numpy values (a .caffemodel's views of its
    memory-mapped file, strided ones included) go straight in, so converting holds one copy of the
    weights: the model's."""
    target = model.state_dict()
    missing, unexpected = sorted(target.keys() - mapped.keys()), sorted(mapped.keys() - target.keys())
    if missing or unexpected:
        raise ConversionError(f"{misfit}: missing {missing[:5]}, unexpected {unexpected[:5]}")
    for ours, (name, value) in mapped.items():
        if tuple(value.shape) != tuple(target[ours].shape):
            raise ConversionError(f"{misfit}: {name} is {list(value.shape)}, needs {list(target[ours].shape)}")
        if isinstance(value, np.ndarray):
            np.copyto(target[ours].numpy(), value)
        else:
            target[ours].copy_(value)


def detect_torchvision_fcn(sd: dict[str, torch.Tensor]) -> str | None:
    """"fcn_resnet50" or "fcn_resnet101" for a whole torchvision segmentation FCN state dict, else None.
    The FCN head is classifier.0 (3x3, 2048 -> 512) ... classifier.4 (1x1); DeepLabV3's differs."""
    head = sd.get("classifier.0.weight")
    if "backbone.layer4.0.conv1.weight" not in sd or "classifier.4.weight" not in sd or head is None \
            or tuple(head.shape) != (512, 2048, 3, 3):
        return None
    blocks = {int(m.group(1)) for k in sd if (m := re.match(r"backbone\.layer3\.(\d+)\.", k))}
    return {6: "fcn_resnet50", 23: "fcn_resnet101"}.get(len(blocks))


def convert_torchvision_fcn(sd: dict[str, torch.Tensor], src: Path, labels: LabelSet | None, found: str,
                            arch: str | None) -> tuple[DilatedResNetFCN, CheckpointInfo, str]:
    """A whole torchvision fcn_resnet50/101, every tensor kept (the aux head when the file has one)."""
    if arch is not None and arch != found:
        raise ConversionError(f"{src}: a torchvision {found} state dict, not {arch}")
    n = sd["classifier.4.weight"].shape[0]
    labels = _labels_for(n, labels, src)
    with_aux = any(k.startswith("aux_classifier.") for k in sd)
    config = DilatedFCNConfig(arch=found, num_classes=n, with_aux=with_aux)
    model = build_network(config)
    _copy_weights(model, {k: (k, v) for k, v in sd.items()}, f"{src}: does not fit torchvision's {found} "
                  f"({n} classes{', aux head' if with_aux else ''})")
    info = CheckpointInfo(config, labels, IMAGENET, new_provenance(
        f"converted from {src.name} ({TORCHVISION_ORIGIN})", converted_from=str(src)))
    report = (f"{src.name}: torchvision's {found} (dilated-ResNet FCN, not FCN-8s), {n} classes"
              f"{', with its aux head' if with_aux else ''}; all {len(sd)} tensors converted; "
              f"input RGB 0..1 ImageNet-normalised")
    return model.eval(), info, report


def detect_torchvision_backbone(sd: dict[str, torch.Tensor]) -> str | None:
    keys = {k.removeprefix("backbone.") for k in sd}
    if "features.28.weight" in keys and "features.0.weight" in keys and "features.1.weight" not in keys:
        return "vgg16"
    if "layer4.0.conv1.weight" in keys:
        blocks = {int(m.group(1)) for k in keys if (m := re.match(r"layer3\.(\d+)\.", k))}
        bottleneck = "layer1.0.conv3.weight" in keys
        return {(2, False): "resnet18", (6, False): "resnet34", (6, True): "resnet50"}.get(
            (len(blocks), bottleneck))
    for key, name in (("features.18.0.weight", "mobilenet_v2"), ("features.16.0.weight", "mobilenet_v3_large"),
                      ("features.12.0.weight", "mobilenet_v3_small")):
        if key in keys and (name != "mobilenet_v3_small" or "features.16.0.weight" not in keys):
            return name
    return None


def convert_torchvision(sd: dict[str, torch.Tensor], src: Path, labels: LabelSet | None,
                        arch: str) -> tuple[torch.nn.Module, CheckpointInfo, str]:
    backbone = detect_torchvision_backbone(sd)
    if backbone is None:
        raise ConversionError(
            f"{src}: not a checkpoint we can convert: neither the FCN port's keys (conv1_1 ... score_fr), "
            f"nor a whole torchvision fcn_resnet50/101, nor a torchvision vgg16 / resnet18/34/50 / "
            f"mobilenet_v2/v3 state dict")
    labels = labels or LabelSet.voc()
    try:
        config = make_config(arch, len(labels), backbone)
    except ValueError as exc:
        raise ConversionError(f"{src}: a {backbone} encoder, which cannot become {arch}: {exc}") from None
    model = build_network(config)
    encoder_sd = {k.removeprefix("backbone."): v for k, v in sd.items()
                  if not k.startswith(("classifier.", "aux_classifier.")) or backbone == "vgg16"}
    load = match_and_load(model.backbone, encoder_sd, src.name)
    if not load.loaded:
        raise ConversionError(f"{src}: no tensor fits a {backbone} encoder")
    info = CheckpointInfo(config, labels, IMAGENET, new_provenance(
        f"{backbone} encoder from {src.name}; FCN head newly initialised", converted_from=str(src),
        backbone_weights=load.summary()))
    return model.eval(), info, f"{backbone}: {load.summary()}; the {arch.upper()} head starts fresh"


def _labels_for(n: int, labels: LabelSet | None, src: Path) -> LabelSet:
    if labels is not None:
        if len(labels) != n:
            raise ConversionError(f"{src}: the model has {n} classes but the label set has {len(labels)}")
        return labels
    if n == len(VOC_CLASSES):
        return LabelSet.voc()
    return LabelSet(tuple(f"class_{i}" for i in range(n)))
