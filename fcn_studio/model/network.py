"""The one place that maps a checkpoint's model description to a config and a network: the paper's
FCN-32s/16s/8s (model/fcn.py) or torchvision's dilated-ResNet FCNs (model/dilated_fcn.py). Checkpoints,
new models and converters all go through here, so a new architecture is added once."""

from __future__ import annotations

from torch import nn

from fcn_studio.model.dilated_fcn import DilatedFCNConfig, DilatedResNetFCN
from fcn_studio.model.fcn import FCN, FCNConfig, empty_init
from fcn_studio.model_choices import ARCHS, DILATED_ARCHS, check_arch_backbone

ModelConfig = FCNConfig | DilatedFCNConfig


def is_dilated(arch: str) -> bool:
    return arch in DILATED_ARCHS


def config_from_dict(data: dict) -> ModelConfig:
    """A checkpoint's "model" object to its config; raises ValueError naming what is wrong."""
    if not isinstance(data, dict):
        raise ValueError(f"a model description must be a JSON object, not {type(data).__name__}")
    if is_dilated(data.get("arch", "")):
        return DilatedFCNConfig.from_dict(data)
    return FCNConfig.from_dict(data)


def make_config(arch: str, num_classes: int, backbone: str | None = None, alignment: str = "fast",
                with_aux: bool = False, **fcn_options) -> ModelConfig:
    """A config for a new network. A dilated FCN's backbone is fixed by its name: another is refused."""
    if arch not in ARCHS:
        raise ValueError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHS)}")
    if is_dilated(arch):
        check_arch_backbone(arch, backbone)
        if alignment != "fast":
            raise ValueError(f"the {alignment} alignment exists only for the paper's FCNs on vgg16, not {arch}")
        if fcn_options:
            raise ValueError(f"{', '.join(sorted(fcn_options))} apply to the paper's FCNs only, not {arch}")
        return DilatedFCNConfig(arch=arch, num_classes=num_classes, with_aux=with_aux)
    if with_aux:
        raise ValueError(f"an auxiliary head exists only for the dilated FCNs ({', '.join(DILATED_ARCHS)}), "
                         f"not {arch}")
    return FCNConfig(arch=arch, backbone=backbone or "resnet18", num_classes=num_classes, alignment=alignment,
                     **fcn_options)


def build_network(config: ModelConfig) -> nn.Module:
    """The network a config describes (weights as initialised; load or train them next)."""
    if isinstance(config, DilatedFCNConfig):
        return DilatedResNetFCN(config)
    return FCN(config)


def build_empty(config: ModelConfig) -> nn.Module:
    """The network with no memory behind it and nothing initialised (fcn.empty_init), for a checkpoint's
    tensors to be assigned in."""
    with empty_init():
        return build_network(config)


def has_aux_head(model: nn.Module) -> bool:
    """Whether training should add the auxiliary loss (the network returns two outputs then)."""
    return getattr(model, "aux_classifier", None) is not None
