"""A tiny protobuf writer for .caffemodel files, written apart from the reader it tests: varints,
length-delimited fields, packed floats and the old one-tag-per-float encoding. Tests and the reading
benchmark build the Caffe FCN release's nets with it from the PyTorch-port reference."""

from __future__ import annotations

import numpy as np
from torch import nn

# Field numbers from caffe.proto.
NET_NAME, NET_LAYERS_V1, NET_LAYER = 1, 2, 100
V1_ENUM = {"Data": 5, "Convolution": 4, "Deconvolution": 39}  # V1 had no Crop or Scale layers
ONE_FLOAT = np.dtype([("tag", "u1"), ("value", "<f4")])


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | (0x80 if n else 0))
        if not n:
            return bytes(out)


def key(field: int, wire: int) -> bytes:
    return varint(field << 3 | wire)


def message(field: int, payload: bytes) -> bytes:
    return key(field, 2) + varint(len(payload)) + payload


def number(field: int, n: int) -> bytes:
    return key(field, 0) + varint(n)


def blob(array: np.ndarray, legacy: bool = False, packed: bool = True) -> bytes:
    """A BlobProto, fields in number order as Caffe writes them: legacy num/channels/height/width
    (1..4, the shape padded to 4-D on the left), data (5), then BlobShape (7, packed dims)."""
    a = np.asarray(array, np.float32)
    dims = (1,) * (4 - a.ndim) + a.shape
    head = b"".join(number(f, d) for f, d in zip((1, 2, 3, 4), dims, strict=True)) if legacy else b""
    if packed:
        data = message(5, a.astype("<f4").tobytes())
    else:
        records = np.empty(a.size, ONE_FLOAT)
        records["tag"] = key(5, 5)[0]
        records["value"] = a.ravel()
        data = records.tobytes()
    shape = b"" if legacy else message(7, message(1, b"".join(varint(d) for d in a.shape)))
    return head + data + shape


def layer(name: str, type_: str, blobs: list[np.ndarray] = (), v1: bool = False, legacy: bool = False,
          packed: bool = True, bias_term: bool = True) -> bytes:
    """A LayerParameter (field 100: name 1, type 2, bottom 3, top 4, blobs 7, convolution_param 106)
    or a V1LayerParameter (field 2: bottom 2, top 3, name 4, type 5 enum, blobs 6, convolution_param 10)."""
    conv = number(1, len(blobs[0]) if blobs else 0) + number(2, int(bias_term))
    encoded = [blob(b, legacy, packed) for b in blobs]
    if v1:
        body = (message(2, b"bottom") + message(3, name.encode()) + message(4, name.encode())
                + number(5, V1_ENUM[type_]) + b"".join(message(6, e) for e in encoded) + message(10, conv))
        return message(NET_LAYERS_V1, body)
    body = (message(1, name.encode()) + message(2, type_.encode()) + message(3, b"bottom")
            + message(4, name.encode()) + b"".join(message(7, e) for e in encoded) + message(106, conv))
    return message(NET_LAYER, body)


def port_layers(port: nn.Module, v1: bool = False, legacy: bool = False, packed: bool = True,
                at_once: bool = False):
    """The release's net as Caffe saves it, layer by layer: a data layer, the port's weights under the
    same names, the Crop layers (no blobs: their offsets come from the architecture) and, for the
    at-once FCN-8s, its constant Scale layers (both only in the new format, as in the release)."""
    yield message(NET_NAME, b"voc-fcn")
    yield layer("data", "Data", v1=v1)
    for name, module in port.named_children():
        if at_once and name in ("score_pool4", "score_pool3"):
            channels, value = (512, 0.01) if name == "score_pool4" else (256, 0.0001)
            yield layer(f"scale_{name[6:]}", "Scale", [np.full(channels, value, np.float32)], v1, legacy, packed)
        deconv = isinstance(module, nn.ConvTranspose2d)
        blobs = [module.weight.detach().numpy()] + ([] if module.bias is None else [module.bias.detach().numpy()])
        yield layer(name, "Deconvolution" if deconv else "Convolution", blobs, v1, legacy, packed,
                    bias_term=module.bias is not None)
        if name.startswith("score_pool") and not v1:
            yield layer(f"{name}c", "Crop", v1=v1)


def port_caffemodel(port: nn.Module, **kwargs) -> bytes:
    return b"".join(port_layers(port, **kwargs))
