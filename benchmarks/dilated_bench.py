"""Time per 500x500 image of our fcn_resnet50 against torchvision's own model, in the same run (issue 10).

Both networks hold the same random weights. "ours" is what `fcn-studio predict` does per image after
loading: the Predictor (uint8 image -> normalised channels-last input, forward, softmax, argmax, back
to numpy). "torchvision" is the bare model as torchvision's docs call it: a normalised NCHW float
tensor in, the "out" logits back, nothing else. The runs alternate, so both see the same machine load;
the best and the median of `--repeat` runs are printed.

Run: `python benchmarks/dilated_bench.py [--arch fcn_resnet50] [--size 500] [--repeat 7] [--device cpu]`."""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
import torchvision

from fcn_studio.inference.device import device_name, pick_device
from fcn_studio.inference.predictor import Predictor
from fcn_studio.model.input_spec import IMAGENET, normalise_batch
from fcn_studio.model.network import build_network, make_config


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arch", default="fcn_resnet50", choices=("fcn_resnet50", "fcn_resnet101"))
    p.add_argument("--size", type=int, default=500)
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--device", default=None)
    args = p.parse_args()
    device = pick_device(args.device)
    torch.manual_seed(0)
    tv = getattr(torchvision.models.segmentation, args.arch)(weights=None, weights_backbone=None, num_classes=21,
                                                              aux_loss=True).eval().to(device)
    ours = build_network(make_config(args.arch, 21, with_aux=True))
    ours.load_state_dict(tv.state_dict())
    predictor = Predictor(ours, IMAGENET, device=device)
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (args.size, args.size, 3), dtype=np.uint8)
    x = normalise_batch(torch.from_numpy(image)[None], IMAGENET, device).contiguous()

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    def run_tv() -> None:
        with torch.inference_mode():
            tv(x)["out"]
        sync()

    def run_ours() -> None:
        predictor.predict(image)

    times: dict[str, list[float]] = {"ours (Predictor, whole step)": [], "torchvision model forward": []}
    runs = dict(zip(times, (run_ours, run_tv), strict=True))
    for fn in runs.values():
        fn()  # warm-up
    for _ in range(args.repeat):
        for name, fn in runs.items():
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    print(f"{args.arch}, one {args.size}x{args.size} image, {device_name(device)}, "
          f"{args.repeat} runs each, alternating")
    for name, ts in times.items():
        print(f"  {name:<32} best {1000 * min(ts):8.1f} ms   median {1000 * statistics.median(ts):8.1f} ms")
    a, b = (statistics.median(ts) for ts in times.values())
    print(f"  ours / torchvision (median): {a / b:.2f}")


if __name__ == "__main__":
    main()
