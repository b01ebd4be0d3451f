"""How pixels become network input. It travels in every checkpoint, because a Caffe-converted model
wants BGR 0..255 minus the mean while torchvision backbones want RGB 0..1 normalised."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class InputSpec:
    channel_order: str = "RGB"
    scale: float = 1.0 / 255.0  # applied to 0..255 values before mean and std
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)  # in channel_order
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)

    def __post_init__(self) -> None:
        if self.channel_order not in ("RGB", "BGR"):
            raise ValueError(f"channel order must be RGB or BGR, got {self.channel_order!r}")
        if len(self.mean) != 3 or len(self.std) != 3 or any(s <= 0 for s in self.std):
            raise ValueError("mean and std need three values, std positive")
        object.__setattr__(self, "mean", tuple(float(v) for v in self.mean))
        object.__setattr__(self, "std", tuple(float(v) for v in self.std))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> InputSpec:
        return cls(d.get("channel_order", "RGB"), float(d.get("scale", 1 / 255)),
                   tuple(d.get("mean", IMAGENET.mean)), tuple(d.get("std", IMAGENET.std)))


IMAGENET = InputSpec()
# The Caffe FCN release and its PyTorch port: BGR, 0..255, per-channel mean subtracted, no scaling.
CAFFE_VGG = InputSpec("BGR", 1.0, (104.00698793, 116.66876762, 122.67891434), (1.0, 1.0, 1.0))
