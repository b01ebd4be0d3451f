"""The model names a user can choose from, without importing torch (for menus and argument help)."""

ARCHS = ("fcn8s", "fcn16s", "fcn32s")
BACKBONES = ("vgg16", "resnet18", "resnet34", "resnet50", "mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small")
