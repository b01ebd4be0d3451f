"""Reading a .caffemodel of the real FCN-8s size (VGG16, fc6 4096 x 512 x 7 x 7, 21 classes: about
540 MB of float32) without Caffe: how fast, and how much memory beyond the weights themselves.

The file is generated in a temporary folder (never committed) with the tests' independent protobuf
writer, once with packed floats (how Caffe writes) and once with one tag per float (old writers).
Each measurement runs in a fresh child process so that peak memory is its own:

- read: parse the file and touch every value (a sum per blob), as MB of file per second;
- convert: `convert_file`, the whole way to an FCN model on the CPU.

Memory is the process's anonymous resident memory (RssAnon, sampled every 2 ms, Linux): the pages of
the memory-mapped file are page cache and not counted, the decoded or copied weights are. The file
was just written, so it is read from the page cache, not from disk.

Run: `python benchmarks/caffemodel_bench.py` (about a minute; needs ~0.7 GB in the temp folder)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # fcn_studio and the tests' writer

VGG_CONVS = [  # (name, (out, in)) of the 3 x 3 convolutions of voc-fcn8s
    ("conv1_1", (64, 3)), ("conv1_2", (64, 64)), ("conv2_1", (128, 64)), ("conv2_2", (128, 128)),
    ("conv3_1", (256, 128)), ("conv3_2", (256, 256)), ("conv3_3", (256, 256)), ("conv4_1", (512, 256)),
    ("conv4_2", (512, 512)), ("conv4_3", (512, 512)), ("conv5_1", (512, 512)), ("conv5_2", (512, 512)),
    ("conv5_3", (512, 512)),
]
SHAPES = ([(name, "Convolution", (*io, 3, 3), True) for name, io in VGG_CONVS] + [  # (name, type, shape, bias)
    ("fc6", "Convolution", (4096, 512, 7, 7), True), ("fc7", "Convolution", (4096, 4096, 1, 1), True),
    ("score_fr", "Convolution", (21, 4096, 1, 1), True), ("upscore2", "Deconvolution", (21, 21, 4, 4), False),
    ("score_pool4", "Convolution", (21, 512, 1, 1), True),
    ("upscore_pool4", "Deconvolution", (21, 21, 4, 4), False),
    ("score_pool3", "Convolution", (21, 256, 1, 1), True), ("upscore8", "Deconvolution", (21, 21, 16, 16), False),
])


def write_fcn8s(path: Path, packed: bool) -> int:
    from tests.model.caffe_wire import NET_NAME, layer, message

    rng = np.random.default_rng(0)
    params = 0
    with open(path, "wb") as fh:
        fh.write(message(NET_NAME, b"voc-fcn8s"))
        for name, type_, shape, bias in SHAPES:
            blobs = [(rng.standard_normal(shape, np.float32) * 0.01)]
            if bias:
                blobs.append(rng.standard_normal(shape[0], np.float32) * 0.01)
            params += sum(b.size for b in blobs)
            fh.write(layer(name, type_, blobs, packed=packed, bias_term=bias))
            del blobs
    return params


class AnonPeak:
    """Peak RssAnon (bytes) while in the block, sampled from /proc/self/status."""

    def __enter__(self):
        self.base = self.peak = _rss_anon()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(0.002):
            self.peak = max(self.peak, _rss_anon())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_anon())
        self.extra = self.peak - self.base


def _rss_anon() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    return 0


def measure(path: Path, what: str) -> dict:
    import torch

    from fcn_studio.model.caffemodel import read_caffemodel
    from fcn_studio.model.convert import convert_file

    torch.set_num_threads(1)
    with AnonPeak() as mem:
        start = time.perf_counter()
        if what == "read":
            layers = read_caffemodel(path)
            total = sum(float(b.sum(dtype=np.float64)) for la in layers for b in la.blobs)
            assert np.isfinite(total)
        else:
            model, info, _ = convert_file(path)
            assert info.config.fc_channels == 4096
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "extra_bytes": mem.extra}


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--measure":
        print(json.dumps(measure(Path(sys.argv[2]), sys.argv[3])))
        return
    with tempfile.TemporaryDirectory() as tmp:
        for packed in (True, False):
            path = Path(tmp) / f"fcn8s-{'packed' if packed else 'one-tag-per-float'}.caffemodel"
            params = write_fcn8s(path, packed)
            size, weights = path.stat().st_size, params * 4
            print(f"{path.name}: {size / 1e6:.0f} MB file, {params / 1e6:.1f} M parameters "
                  f"({weights / 1e6:.0f} MB as float32)")
            for what in ("read", "convert"):
                out = subprocess.run([sys.executable, __file__, "--measure", str(path), what],
                                     check=True, capture_output=True, text=True).stdout
                r = json.loads(out.strip().splitlines()[-1])
                print(f"  {what:8s} {r['seconds']:6.2f} s  {size / 1e6 / r['seconds']:7.0f} MB/s of file   "
                      f"peak extra memory {r['extra_bytes'] / 1e6:5.0f} MB = "
                      f"{r['extra_bytes'] / weights:.2f} x the weights")
            path.unlink()


if __name__ == "__main__":
    main()
