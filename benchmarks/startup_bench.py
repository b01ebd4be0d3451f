"""Start-up and time to first mask, this tree against a baseline revision, in the same session (issue 10).

For each code version (this tree, and REV extracted with `git archive`), in fresh processes:
- imports: seconds to import what `fcn-studio predict` imports once torch is imported (torch itself
  costs the same to both), and whether torchvision came with it;
- load: seconds from a VGG16 FCN-8s checkpoint file to a ready Predictor (imports already done);
- predict: wall seconds of `fcn-studio predict` on 1 and on N 500x500 JPEGs, start-up included, for
  this tree in float32 and in its automatic precision (bfloat16 on a CPU with AVX512-BF16/AMX).
The best of --rounds is shown. The checkpoint is a random FCN-8s VGG16 classic (`fcn-studio model new`).

Run: `python benchmarks/startup_bench.py [--baseline main] [--images 6] [--rounds 2]`."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from predict_bench import REPO, extract, make_images  # noqa: E402

IMPORTS = ("import time, sys, torch; t = time.perf_counter(); import fcn_studio.cli.predict, "
           "fcn_studio.inference.predictor, fcn_studio.inference.batch_predict, fcn_studio.training.distributed; "
           "print(time.perf_counter() - t, any(m.startswith('torchvision') for m in sys.modules))")
LOAD = ("import time, sys; from fcn_studio.inference.predictor import Predictor; t = time.perf_counter(); "
        "Predictor.from_checkpoint(sys.argv[1], device='cpu'); print(time.perf_counter() - t)")


def run_python(root: Path, code: str, *args: str) -> str:
    # cwd=root too: `python -c` and `-m` put the working directory ahead of PYTHONPATH
    out = subprocess.run([sys.executable, "-c", code, *args], env={**os.environ, "PYTHONPATH": str(root)},
                         cwd=root, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def predict_seconds(root: Path, model: Path, images: list[Path], out: Path, extra: list[str]) -> float:
    cmd = [sys.executable, "-m", "fcn_studio", "predict", *map(str, images), "--model", str(model), "--out", str(out),
           "--device", "cpu", *extra]
    start = time.perf_counter()
    subprocess.run(cmd, env={**os.environ, "PYTHONPATH": str(root)}, cwd=root, capture_output=True, check=True)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--baseline", default="main", help="git revision to compare with (default main)")
    ap.add_argument("--images", type=int, default=6)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="startup-bench-") as tmp:
        tmp = Path(tmp)
        versions = {"this tree": REPO, f"baseline {args.baseline}": extract(args.baseline, tmp / "baseline")}
        model = tmp / "vgg.safetensors"
        subprocess.run([sys.executable, "-m", "fcn_studio", "model", "new", "--arch", "fcn8s", "--backbone", "vgg16",
                        "--alignment", "classic", "--weights", "none", "--out", str(model)],
                       env={**os.environ, "PYTHONPATH": str(REPO)}, check=True, capture_output=True)
        make_images(tmp / "images", args.images, 500)
        images = sorted((tmp / "images").glob("*.jpg"))
        runs = {"this tree": {"float32": ["--precision", "float32"], "auto": []},
                f"baseline {args.baseline}": {"float32": []}}
        best: dict[tuple, float] = {}
        torchvision: dict[str, bool] = {}

        def keep(key: tuple, seconds: float) -> None:
            best[key] = min(best.get(key, float("inf")), seconds)

        for r in range(args.rounds):
            for name, root in versions.items():
                seconds, tv = run_python(root, IMPORTS).split()
                keep((name, "imports"), float(seconds))
                torchvision[name] = tv == "True"
                keep((name, "load"), float(run_python(root, LOAD, str(model))))
                for label, extra in runs[name].items():
                    for subset in (images[:1], images):
                        out = tmp / f"out-{r}-{len(best)}"
                        keep((name, label, len(subset)), predict_seconds(root, model, subset, out, extra))
                print(f"round {r + 1} done", flush=True)

    n = len(images)
    print(f"\nFCN-8s VGG16 classic, 500x500 JPEGs, CPU; best of {args.rounds} rounds")
    print(f"{'code':<22} {'imports after torch':>8} {'torchvision':>11} {'ckpt->predictor':>15}")
    for name in versions:
        print(f"{name:<22} {best[(name, 'imports')]:18.2f}s {str(torchvision[name]):>11} {best[(name, 'load')]:14.2f}s")
    print(f"\n{'fcn-studio predict':<32} {'1 image':>8} {f'{n} images':>9}")
    for name, labels in runs.items():
        for label in labels:
            print(f"{name + ', ' + label:<32} {best[(name, label, 1)]:7.2f}s {best[(name, label, n)]:8.2f}s")


if __name__ == "__main__":
    main()
