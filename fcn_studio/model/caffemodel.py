"""Reads the weights of a Caffe `.caffemodel` without Caffe or the protobuf package.

A .caffemodel is one protobuf `NetParameter`. We need only a little of it, so a small reader of the
wire format is clearer than compiling caffe.proto: layers (`layer` = 100, or the old V1 `layers` = 2)
with a name, a type and their weight blobs, each blob a shape plus float data. The data is never
turned into Python floats: packed floats become numpy views of a read-only memory map of the file,
and a run of one tag per float (as old writers stored them) becomes one strided view, so reading the
540 MB FCN-8s costs nothing beyond the one copy the converted model itself makes.

Field numbers (caffe.proto): NetParameter name=1, layers=2 (V1LayerParameter), layer=100
(LayerParameter); LayerParameter name=1, type=2 (string), blobs=7; V1LayerParameter name=4,
type=5 (enum), blobs=6; BlobProto num/channels/height/width=1..4 (legacy 4-D shape), data=5 (float),
shape=7 (BlobShape, dim=1 int64), double_data=8."""

from __future__ import annotations

import mmap
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SUFFIX = ".caffemodel"
VARINT, FIXED64, LEN, FIXED32 = 0, 1, 2, 5
# Top-level NetParameter fields and their wire types; anything else means "not a .caffemodel".
NET_FIELDS = {1: (LEN,), 2: (LEN,), 3: (LEN,), 4: (VARINT, LEN), 5: (VARINT,), 6: (LEN,), 7: (VARINT,),
              8: (LEN,), 100: (LEN,)}
V1_TYPES = {4: "Convolution", 14: "InnerProduct", 39: "Deconvolution"}
FLOAT_TAG, DOUBLE_TAG = (5 << 3) | FIXED32, (8 << 3) | FIXED64  # one tag per value (unpacked)
RUN_CHUNK = 1 << 20  # records examined at once when measuring a run of unpacked floats


class CaffeModelError(ValueError):
    """A file we cannot read as a .caffemodel; the message is one line and names the file."""


class _Bad(Exception):
    """Raised inside the reader; read_caffemodel turns it into a CaffeModelError naming the file."""


@dataclass(frozen=True)
class CaffeLayer:
    name: str
    type: str
    blobs: tuple[np.ndarray, ...]  # float32 in the blob's own shape; views of the mapped file where possible


def looks_like_caffemodel(path: str | Path) -> bool:
    """By suffix, or by content for a renamed file: the first key is a NetParameter name, V1 layers or
    layer field (safetensors has '{' at byte 8, PyTorch files start with PK or a pickle opcode)."""
    path = Path(path)
    if path.suffix.lower() == SUFFIX:
        return True
    try:
        with open(path, "rb") as fh:
            head = fh.read(9)
    except OSError:
        return False
    return (head[:1] in (b"\x0a", b"\x12") or head[:2] == b"\xa2\x06") and head[8:9] != b"{"


def read_caffemodel(path: str | Path) -> list[CaffeLayer]:
    """Every layer of the file that holds weights, in file order."""
    path = Path(path)
    if not path.is_file():
        raise CaffeModelError(f"{path}: no such file")
    with open(path, "rb") as fh:
        size = fh.seek(0, 2)
        if size == 0:
            raise CaffeModelError(f"{path}: empty file, not a .caffemodel")
        buf = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)  # lives as long as a view of it does
    try:
        layers = _read_net(buf, size)
    except _Bad as exc:
        error = CaffeModelError(f"{path}: {exc}")
    else:
        error = None if layers else CaffeModelError(f"{path}: a Caffe net without weights (no layer holds blobs)")
    if error is None:
        return layers
    layers = None
    try:  # unmap now rather than at garbage collection: Windows keeps a mapped file locked
        buf.close()
    except BufferError:  # a view is still alive somewhere; the map goes with it
        pass
    raise error


def _read_net(buf, size: int) -> list[CaffeLayer]:
    layers, pos, index = [], 0, 0
    while pos < size:
        start = pos
        field, wire, value, pos = _field(buf, pos, size, top_level=True)
        if NET_FIELDS.get(field) is None or wire not in NET_FIELDS[field]:
            raise _Bad(f"not a .caffemodel (unexpected protobuf field {field}, wire type {wire} at byte {start})")
        if field in (2, 100):
            index += 1
            layer = _read_layer(buf, *value, v1=field == 2, index=index)
            if layer.blobs:
                layers.append(layer)
    return layers


def _read_layer(buf, start: int, end: int, v1: bool, index: int) -> CaffeLayer:
    name_field, type_field, blobs_field = (4, 5, 6) if v1 else (1, 2, 7)
    name, type_, blob_spans, pos = f"#{index}", "?", [], start
    while pos < end:
        field, wire, value, pos = _field(buf, pos, end)
        if field == name_field and wire == LEN:
            name = _text(buf, value)
        elif field == type_field and wire == (VARINT if v1 else LEN):
            type_ = V1_TYPES.get(value, f"V1 type {value}") if v1 else _text(buf, value)
        elif field == blobs_field and wire == LEN:
            blob_spans.append(value)
    try:
        blobs = tuple(_read_blob(buf, s, e) for s, e in blob_spans)
    except _Bad as exc:
        raise _Bad(f"layer {name!r}: {exc}") from None
    return CaffeLayer(name, type_, blobs)


def _read_blob(buf, start: int, end: int) -> np.ndarray:
    legacy: dict[int, int] = {}
    shape: tuple[int, ...] | None = None
    pieces: list[np.ndarray] = []
    pos = start
    while pos < end:
        field, wire, value, pos = _field(buf, pos, end)
        if field in (1, 2, 3, 4) and wire == VARINT:
            legacy[field] = value
        elif field == 7 and wire == LEN:
            shape = _read_dims(buf, *value)
        elif field in (5, 8) and wire == LEN:  # packed float / double
            width = 4 if field == 5 else 8
            s, e = value
            if (e - s) % width:
                raise _Bad(f"packed data of {e - s} bytes is not a whole number of values")
            pieces.append(np.frombuffer(buf, f"<f{width}", (e - s) // width, s))
        elif (field, wire) in ((5, FIXED32), (8, FIXED64)):  # one tag per value: read the whole run at once
            piece, pos = _unpacked_run(buf, value, pos, end, FLOAT_TAG if field == 5 else DOUBLE_TAG,
                                       4 if field == 5 else 8)
            pieces.append(piece)
    data = pieces[0] if len(pieces) == 1 else np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
    if data.dtype != np.float32:
        data = data.astype(np.float32)
    if shape is None:
        shape = tuple(legacy.get(k, 0) for k in (1, 2, 3, 4)) if legacy else (data.size,)
    if int(np.prod(shape, dtype=np.int64)) != data.size:
        raise _Bad(f"a blob of shape {list(shape)} holds {data.size} values")
    return data.reshape(shape)


def _unpacked_run(buf, first: int, pos: int, end: int, tag: int, width: int) -> tuple[np.ndarray, int]:
    """The value at `first` and every directly following (tag, value) record, as one strided view.
    Checks the tags a chunk at a time with numpy instead of a Python loop per value."""
    record = np.dtype([("tag", "u1"), ("value", f"<f{width}")])  # packed: itemsize 1 + width
    available = (end - pos) // record.itemsize
    count = 0
    while count < available:
        n = min(RUN_CHUNK, available - count)
        tags = np.frombuffer(buf, record, n, pos + count * record.itemsize)["tag"]
        mismatch = np.flatnonzero(tags != tag)
        if mismatch.size:
            count += int(mismatch[0])
            break
        count += n
    # The first value's own tag is the byte before it, so the whole run is one strided view: no copy.
    return np.frombuffer(buf, record, 1 + count, first - 1)["value"], pos + count * record.itemsize


def _read_dims(buf, start: int, end: int) -> tuple[int, ...]:
    dims, pos = [], start
    while pos < end:
        field, wire, value, pos = _field(buf, pos, end)
        if field != 1:
            continue
        if wire == VARINT:
            dims.append(value)
        elif wire == LEN:  # packed int64
            p, e = value
            while p < e:
                d, p = _varint(buf, p, e)
                dims.append(d)
    if any(d < 0 or d >= 1 << 40 for d in dims):
        raise _Bad(f"implausible blob shape {dims}")
    return tuple(dims)


def _field(buf, pos: int, end: int, top_level: bool = False):
    """One field: (number, wire type, value, next position). The value of a LEN field is its
    (start, end) span, of a fixed-width field its start offset, of a varint the integer."""
    key, pos = _varint(buf, pos, end)
    field, wire = key >> 3, key & 7
    if field == 0:
        raise _Bad(f"not a .caffemodel (protobuf field 0 at byte {pos})")
    if wire == VARINT:
        value, pos = _varint(buf, pos, end)
        return field, wire, value, pos
    if wire == LEN:
        n, pos = _varint(buf, pos, end)
        if pos + n > end:
            where = "the file ends" if top_level else "a message ends"
            raise _Bad(f"truncated: field {field} at byte {pos} needs {n} bytes but {where} at byte {end}")
        return field, wire, (pos, pos + n), pos + n
    width = {FIXED64: 8, FIXED32: 4}.get(wire)
    if width is None:
        raise _Bad(f"not a .caffemodel (protobuf wire type {wire} at byte {pos})")
    if pos + width > end:
        raise _Bad(f"truncated at byte {end}")
    return field, wire, pos, pos + width


def _varint(buf, pos: int, end: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= end:
            raise _Bad(f"truncated at byte {end} (inside a number)")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise _Bad(f"not a .caffemodel (a protobuf number longer than 10 bytes at byte {pos})")


def _text(buf, span: tuple[int, int]) -> str:
    return bytes(buf[span[0]:span[1]]).decode("utf-8", "replace")


SKIP_SCALE_LAYERS = ("scale_pool4", "scale_pool3")  # the at-once FCN-8s's constant Scale layers


def caffe_port_weights(layers: list[CaffeLayer], src: str | Path,
                       ) -> tuple[dict[str, np.ndarray], tuple[float, float] | None]:
    """The release's layers under the PyTorch port's state-dict names (`.weight`, `.bias`), still
    views of the file, and the at-once skip scales if the net has them."""
    sd, scales = {}, {}
    for layer in layers:
        where = f"{src}: layer {layer.name!r} ({layer.type})"
        if layer.name in SKIP_SCALE_LAYERS:
            values = np.unique(layer.blobs[0])
            if len(layer.blobs) != 1 or values.size != 1:
                raise CaffeModelError(f"{where}: expected one constant skip scale, found {values.size} values")
            scales[layer.name] = float(values[0])
            continue
        if len(layer.blobs) > 2 or layer.blobs[0].ndim != 4:
            raise CaffeModelError(f"{where}: expected a 4-D weight and at most a bias, found blob shapes "
                                  f"{[list(b.shape) for b in layer.blobs]}")
        sd[f"{layer.name}.weight"] = layer.blobs[0]
        if len(layer.blobs) == 2:  # legacy files store a bias as 1 x 1 x 1 x N
            sd[f"{layer.name}.bias"] = layer.blobs[1].reshape(-1)
    if not scales:
        return sd, None
    return sd, (scales.get("scale_pool4", 1.0), scales.get("scale_pool3", 1.0))
