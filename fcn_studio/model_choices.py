"""The model names a user can choose from, without importing torch (for menus and argument help), and
the defaults every entry point shares."""

# FCN-32s/16s/8s (Long, Shelhamer & Darrell): skip heads on any encoder in BACKBONES.
FCN_ARCHS = ("fcn8s", "fcn16s", "fcn32s")
# torchvision's fcn_resnet50/101: one FCN head on a dilated (output stride 8) ResNet, optional aux head
# on layer3; not FCN-8s. Each is built on its own backbone only.
DILATED_ARCHS = {"fcn_resnet50": ("resnet50",), "fcn_resnet101": ("resnet101",)}
ARCHS = (*FCN_ARCHS, *DILATED_ARCHS)
ARCH_DESCRIPTIONS = {
    "fcn8s": "FCN-8s: skips from stride 8 and 16 (the paper's best)",
    "fcn16s": "FCN-16s: skip from stride 16",
    "fcn32s": "FCN-32s: no skips",
    "fcn_resnet50": "dilated-ResNet-50 FCN (torchvision's fcn_resnet50), not FCN-8s",
    "fcn_resnet101": "dilated-ResNet-101 FCN (torchvision's fcn_resnet101), not FCN-8s",
}
ARCH_HELP = ("fcn8s|fcn16s|fcn32s put the paper's skip heads on --backbone; fcn_resnet50|fcn_resnet101 are "
             "torchvision's dilated-ResNet FCNs (not FCN-8s; their backbone is fixed)")


def check_arch_backbone(arch: str, backbone: str | None) -> None:
    """A dilated FCN's backbone is fixed by its name; asking for another is a usage error."""
    own = DILATED_ARCHS.get(arch)
    if own and backbone not in (None, *own):
        raise ValueError(f"{arch} is torchvision's dilated {own[0]} FCN: its backbone is {own[0]}, not {backbone}; "
                         f"leave out --backbone")


BACKBONES = ("vgg16", "resnet18", "resnet34", "resnet50", "mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small")
DEFAULT_ARCH = "fcn8s"
# The default backbone is the first of these with ImageNet weights on this machine (a pretrained encoder
# learns from a few corrected images far faster), else the first: all are fast enough to fine-tune on a CPU.
# fcn_studio.model.factory.default_backbone() makes the choice; `model new`, `train` and the app all ask it.
DEFAULT_BACKBONE_PREFERENCE = ("mobilenet_v3_large", "mobilenet_v2", "resnet18")

# Giga-operations per 224 x 224 image, as torchvision lists them for its weights (the dilated FCNs scaled
# from their 520 x 520 figures): what a training step costs, for the batch size on a CPU.
COST_GOPS = {"mobilenet_v3_small": 0.06, "mobilenet_v3_large": 0.22, "mobilenet_v2": 0.3, "resnet18": 1.81,
             "resnet34": 3.66, "resnet50": 4.09, "vgg16": 15.47, "fcn_resnet50": 28.3, "fcn_resnet101": 43.2}
