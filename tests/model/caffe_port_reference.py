"""An independent reference of the Caffe FCN release (and of its widely used PyTorch port): the layer
shapes, paddings, crop offsets and at-once scales are written out here from the release's prototxts
(voc-fcn32s, voc-fcn16s, voc-fcn8s and voc-fcn8s-atonce train.prototxt in
shelhamer/fcn.berkeleyvision.org), never imported from fcn_studio, so a wrong constant there shows up
as a mismatch here. Tests build it, save its state dict as users have it, convert that with FCN Studio
and compare outputs."""

import numpy as np
import torch
from torch import nn

FC = "fc"  # fc6/fc7 width: 4096 in the release; tests choose a smaller one to stay fast

# (name, kind, out_channels, kernel, stride, pad) in the order of the prototxt; every conv has a ReLU,
# every pool is MAX (Caffe rounds its output size up: ceil mode).
VGG_LAYERS = (
    ("conv1_1", "conv", 64, 3, 1, 100), ("conv1_2", "conv", 64, 3, 1, 1), ("pool1", "pool", 0, 2, 2, 0),
    ("conv2_1", "conv", 128, 3, 1, 1), ("conv2_2", "conv", 128, 3, 1, 1), ("pool2", "pool", 0, 2, 2, 0),
    ("conv3_1", "conv", 256, 3, 1, 1), ("conv3_2", "conv", 256, 3, 1, 1), ("conv3_3", "conv", 256, 3, 1, 1),
    ("pool3", "pool", 0, 2, 2, 0),
    ("conv4_1", "conv", 512, 3, 1, 1), ("conv4_2", "conv", 512, 3, 1, 1), ("conv4_3", "conv", 512, 3, 1, 1),
    ("pool4", "pool", 0, 2, 2, 0),
    ("conv5_1", "conv", 512, 3, 1, 1), ("conv5_2", "conv", 512, 3, 1, 1), ("conv5_3", "conv", 512, 3, 1, 1),
    ("pool5", "pool", 0, 2, 2, 0),
    ("fc6", "conv", FC, 7, 1, 0), ("fc7", "conv", FC, 1, 1, 0),
)
# Deconvolution layers (bias_term: false, pad 0): name -> (kernel, stride).
DECONVS = {"upscore": (64, 32), "upscore16": (32, 16), "upscore2": (4, 2), "upscore_pool4": (4, 2),
           "upscore8": (16, 8)}
# Crop layers' `offset` as each prototxt states it.
CROP_OFFSETS = {
    "fcn32s": {"score": 19},
    "fcn16s": {"score_pool4c": 5, "score": 27},
    "fcn8s": {"score_pool4c": 5, "score_pool3c": 9, "score": 31},
}
# voc-fcn8s-atonce: Scale layers (constant filler, lr_mult 0) in front of score_pool4 and score_pool3.
AT_ONCE_SCALES = {"scale_pool4": 0.01, "scale_pool3": 0.0001}
CAFFE_MEAN_BGR = (104.00698793, 116.66876762, 122.67891434)


def upsampling_weight(channels: int, size: int) -> torch.Tensor:
    """surgery.interp of the release: a bilinear kernel on the diagonal."""
    factor = (size + 1) // 2
    center = factor - 1 if size % 2 == 1 else factor - 0.5
    og = np.ogrid[:size, :size]
    filt = (1 - abs(og[0] - center) / factor) * (1 - abs(og[1] - center) / factor)
    weight = np.zeros((channels, channels, size, size), dtype=np.float64)
    weight[range(channels), range(channels), :, :] = filt
    return torch.from_numpy(weight).float()


def crop_offsets_from_geometry(variant: str) -> dict[str, int]:
    """The crop offsets derived from first principles, as Caffe's coord_map.py does: every blob's
    coordinate y maps to an input pixel x = a*y + b; a crop's offset is where its reference blob's
    origin falls in the blob it crops. Checks CROP_OFFSETS without trusting anyone's numbers."""
    maps = {"data": (1.0, 0.0)}
    a, b = maps["data"]
    for name, _, _, k, s, p in VGG_LAYERS:  # conv and pool: u = s*y + (k-1)/2 - p
        a, b = a * s, b + a * ((k - 1) / 2 - p)
        maps[name] = (a, b)
    maps["score_fr"] = maps["fc7"]

    def deconv(src: str, name: str) -> None:  # u = (z - (k-1)/2) / s
        k, s = DECONVS[name]
        a, b = maps[src]
        maps[name] = (a / s, b - a * (k - 1) / 2 / s)

    def offset(cropped: str, reference: str) -> int:
        (a1, b1), (a2, b2) = maps[cropped], maps[reference]
        assert a1 == a2, "a crop needs equal scales"
        value = (b2 - b1) / a1
        assert value == int(value) and value >= 0, value
        return int(value)

    out = {}
    if variant == "fcn32s":
        deconv("score_fr", "upscore")
        return {"score": offset("upscore", "data")}
    deconv("score_fr", "upscore2")
    out["score_pool4c"] = offset("pool4", "upscore2")
    if variant == "fcn16s":
        deconv("upscore2", "upscore16")  # fuse_pool4 lies on upscore2's grid
        out["score"] = offset("upscore16", "data")
        return out
    deconv("upscore2", "upscore_pool4")
    out["score_pool3c"] = offset("pool3", "upscore_pool4")
    deconv("upscore_pool4", "upscore8")
    out["score"] = offset("upscore8", "data")
    return out


def _crop(t: torch.Tensor, offset: int, like: torch.Tensor) -> torch.Tensor:
    h, w = like.shape[-2:]
    return t[:, :, offset : offset + h, offset : offset + w]


class PortFCN(nn.Module):
    def __init__(self, variant: str = "fcn8s", n_class: int = 21, fc: int = 4096, at_once: bool = False):
        super().__init__()
        self.variant, self.at_once, self.crops = variant, at_once, CROP_OFFSETS[variant]
        in_ch = 3
        for name, kind, out, k, s, p in VGG_LAYERS:
            if kind == "conv":
                out = fc if out == FC else out
                setattr(self, name, nn.Conv2d(in_ch, out, k, stride=s, padding=p))
                in_ch = out
        self.score_fr = nn.Conv2d(fc, n_class, 1)
        ups = {"fcn32s": ("upscore",), "fcn16s": ("upscore2", "upscore16"),
               "fcn8s": ("upscore2", "upscore_pool4", "upscore8")}[variant]
        for name in ups:
            k, s = DECONVS[name]
            setattr(self, name, nn.ConvTranspose2d(n_class, n_class, k, stride=s, bias=False))
            getattr(self, name).weight.data.copy_(upsampling_weight(n_class, k))
        if variant != "fcn32s":
            self.score_pool4 = nn.Conv2d(512, n_class, 1)
        if variant == "fcn8s":
            self.score_pool3 = nn.Conv2d(256, n_class, 1)

    def forward(self, x):
        h, blobs = x, {}
        for name, kind, _, k, s, p in VGG_LAYERS:
            if kind == "conv":
                h = torch.relu(getattr(self, name)(h))
            else:
                h = nn.functional.max_pool2d(h, k, stride=s, padding=p, ceil_mode=True)
            blobs[name] = h
        score = self.score_fr(h)
        if self.variant == "fcn32s":
            return _crop(self.upscore(score), self.crops["score"], x)
        pool4, pool3 = blobs["pool4"], blobs["pool3"]
        if self.at_once:
            pool4, pool3 = pool4 * AT_ONCE_SCALES["scale_pool4"], pool3 * AT_ONCE_SCALES["scale_pool3"]
        up = self.upscore2(score)
        fuse = up + _crop(self.score_pool4(pool4), self.crops["score_pool4c"], up)
        if self.variant == "fcn16s":
            return _crop(self.upscore16(fuse), self.crops["score"], x)
        up = self.upscore_pool4(fuse)
        fuse = up + _crop(self.score_pool3(pool3), self.crops["score_pool3c"], up)
        return _crop(self.upscore8(fuse), self.crops["score"], x)


def randomise_scores_(model: nn.Module, std: float = 0.01) -> None:
    """Score layers start at zero in FCN; give them values so outputs are not all equal."""
    g = torch.Generator().manual_seed(1)
    for name in ("score_fr", "score_pool4", "score_pool3"):
        layer = getattr(model, name, None)
        if layer is not None:
            with torch.no_grad():
                layer.weight.copy_(torch.randn(layer.weight.shape, generator=g) * std)
                layer.bias.copy_(torch.randn(layer.bias.shape, generator=g) * std)


def caffe_input(rgb: np.ndarray) -> torch.Tensor:
    """The port's transform: RGB uint8 -> BGR float, mean subtracted, NCHW."""
    bgr = rgb[:, :, ::-1].astype(np.float64) - np.array(CAFFE_MEAN_BGR)
    return torch.from_numpy(bgr.transpose(2, 0, 1).copy()).float()[None]
