"""The model names a user can choose from, without importing torch (for menus and argument help), and
the defaults every entry point shares."""

ARCHS = ("fcn8s", "fcn16s", "fcn32s")
BACKBONES = ("vgg16", "resnet18", "resnet34", "resnet50", "mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small")
DEFAULT_ARCH = "fcn8s"
# The default backbone is the first of these with ImageNet weights on this machine (a pretrained encoder
# learns from a few corrected images far faster), else the first: all are fast enough to fine-tune on a CPU.
# fcn_studio.model.factory.default_backbone() makes the choice; `model new`, `train` and the app all ask it.
DEFAULT_BACKBONE_PREFERENCE = ("mobilenet_v3_large", "mobilenet_v2", "resnet18")
