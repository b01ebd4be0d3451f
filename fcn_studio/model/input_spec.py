"""How pixels become network input. It travels in every checkpoint, because a Caffe-converted model
wants BGR 0..255 minus the mean while torchvision backbones want RGB 0..1 normalised."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch


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


def normalise_batch(batch: torch.Tensor, spec: InputSpec, device: torch.device) -> torch.Tensor:
    """N x H x W x 3 uint8 (images as decoded, stacked) to normalised network input in one pass on the
    device. NHWC permuted to NCHW is already channels-last, so no copy is made. Shared by the predictor
    and the trainer, so a model sees exactly the same pixels in both."""
    x = batch.to(device, non_blocking=True).permute(0, 3, 1, 2)
    if spec.channel_order == "BGR":
        x = x.flip(1)
    scale = torch.tensor([spec.scale / s for s in spec.std], device=device).view(1, 3, 1, 1)
    shift = torch.tensor([m / s for m, s in zip(spec.mean, spec.std, strict=True)], device=device).view(1, 3, 1, 1)
    return (x.float() * scale - shift).contiguous(memory_format=torch.channels_last)


IMAGENET = InputSpec()
# The Caffe FCN release and its PyTorch port: BGR, 0..255, per-channel mean subtracted, no scaling.
CAFFE_VGG = InputSpec("BGR", 1.0, (104.00698793, 116.66876762, 122.67891434), (1.0, 1.0, 1.0))
