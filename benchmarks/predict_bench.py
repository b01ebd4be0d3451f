"""Peak memory of `fcn-studio predict` over a folder, against the number of images (issue 9, point 11).

Generates N photos of SIZE x SIZE (JPEG) in a temporary folder, makes a tiny model with
`fcn-studio model new`, runs `fcn-studio predict` on the folder as a child process and reports its
peak resident memory (the child's own ru_maxrss, from os.wait4) and wall time. With --baseline REV
(default: the commit before the streaming predictor) the same runs are made with that revision's
fcn_studio, extracted with `git archive`, so old and new are measured in the same session.
Peak memory should not grow with the number of images.

Run: `python benchmarks/predict_bench.py [--counts 6 150] [--size 1500] [--baseline REV | --no-baseline]`."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
BASELINE = "29e4802"  # the last commit whose predict decoded every image ahead (Executor.map)


def make_images(folder: Path, count: int, size: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    base = np.stack([128 + 100 * np.sin(xx / 53), 128 + 100 * np.cos(yy / 71), 128 + 100 * np.sin((xx + yy) / 97)],
                    -1).astype(np.uint8)
    for i in range(count):
        Image.fromarray(np.roll(base, 37 * i, axis=1)).save(folder / f"photo{i:05d}.jpg", quality=90)


def extract(rev: str, dest: Path) -> Path:
    """`rev`'s fcn_studio package, unpacked under dest (nothing in the working tree changes)."""
    data = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", rev, "fcn_studio"],
                          capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        tar.extractall(dest, filter="data")
    return dest


def peak_run(cmd: list[str], env: dict, limit: float | None, cwd: Path) -> tuple[float | None, float, int | None]:
    """(peak RSS in MiB or None where the platform cannot say, seconds, exit status or None if it was
    stopped at `limit` seconds) of a child process. `cwd` is the version's own folder: `python -m` puts
    the working directory ahead of PYTHONPATH, so run from elsewhere the child would import that code."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err)
        stopped, peak = False, None
        if hasattr(os, "wait4"):  # POSIX: the child's own rusage (a killed child's too)
            while (done := os.wait4(proc.pid, os.WNOHANG))[0] == 0:
                if limit is not None and time.perf_counter() - start > limit:
                    proc.kill()
                    stopped = True
                    done = os.wait4(proc.pid, 0)
                    break
                time.sleep(0.2)
            _, status, usage = done
            proc.returncode = os.waitstatus_to_exitcode(status)
            scale = 1 if sys.platform == "darwin" else 1024  # macOS reports bytes, Linux KiB
            peak = usage.ru_maxrss * scale / 2**20
        else:
            try:
                proc.wait(timeout=limit)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                stopped = True
        seconds = time.perf_counter() - start
        if proc.returncode and not stopped:
            err.seek(0)
            print(err.read().decode(errors="replace")[-2000:], file=sys.stderr)
    return peak, seconds, None if stopped else proc.returncode


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--counts", type=int, nargs="+", default=[6, 150])
    ap.add_argument("--size", type=int, default=1500)
    ap.add_argument("--baseline", default=BASELINE, help="git revision to compare with")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--time-limit", type=float, help="stop each run after this many seconds (the old code's "
                    "peak comes within seconds, when every image is decoded; the new code's with the first batch)")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="predict-bench-") as tmp:
        tmp = Path(tmp)
        versions = {"new": REPO}
        if not args.no_baseline:
            versions[f"baseline {args.baseline}"] = extract(args.baseline, tmp / "baseline")
        models = {}  # each version makes its own model: an old version may not read a newer file
        for name, root in versions.items():
            models[name] = tmp / f"tiny-{len(models)}.safetensors"
            subprocess.run([sys.executable, "-m", "fcn_studio", "model", "new", "--backbone", "mobilenet_v3_small",
                            "--weights", "none", "--out", str(models[name])], cwd=root, check=True,
                           env={**os.environ, "PYTHONPATH": str(root)}, capture_output=True)
        rows = []
        for count in args.counts:
            images = tmp / f"images{count}"
            make_images(images, count, args.size)
            for name, root in versions.items():
                out = tmp / f"out-{count}-{len(rows)}"
                cmd = [sys.executable, "-m", "fcn_studio", "predict", str(images), "--model", str(models[name]),
                       "--out", str(out), "--device", args.device]
                peak, seconds, code = peak_run(cmd, {**os.environ, "PYTHONPATH": str(root)}, args.time_limit, root)
                written = len(list(out.glob("*.png"))) if out.is_dir() else 0
                rows.append((name, count, peak, seconds, code, written))
                print(f"  {name}: {count} images, peak {peak and f'{peak:.0f} MiB'}, {seconds:.1f} s", flush=True)

    print(f"\npredict, {args.size}x{args.size} JPEGs, fcn8s on mobilenet_v3_small, {args.device}")
    print(f"{'code':<20} {'images':>6} {'peak RSS':>10} {'time':>8} {'written':>7} {'img/s':>6} {'status':>7}")
    for name, count, peak, seconds, code, written in rows:
        peak_text = f"{peak:.0f} MiB" if peak is not None else "n/a"
        status = "stopped" if code is None else code
        print(f"{name:<20} {count:>6} {peak_text:>10} {seconds:>7.1f}s {written:>7} {written / seconds:>6.2f} "
              f"{status:>7}")


if __name__ == "__main__":
    main()
