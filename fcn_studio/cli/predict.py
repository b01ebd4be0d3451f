"""`fcn-studio predict`: one process, or several under torchrun (`python -m torch.distributed.run
--nproc_per_node=N -m fcn_studio predict ...`, on one machine or many). Each rank predicts its share
of the files on its own device; rank 0 alone shows the progress of all ranks together and the
summary. The process group is the trainer's (training.distributed), so both run the same way."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fcn_studio.cli.args import add_precision_argument, output_dir, positive_int


def add_predict_parser(sub) -> None:
    pred = sub.add_parser("predict", help="label images and folders to palette PNGs (several GPUs: torchrun)")
    pred.add_argument("inputs", nargs="+", type=Path,
                      help="image files and folders (recursive); a slide (pyramidal TIFF, SVS, OME-Zarr, or any "
                           "TIFF over FCN_STUDIO_MAX_PIXELS) gets <stem>.ome.tif, its labels as a tiled pyramid")
    pred.add_argument("--model", required=True, type=Path)
    pred.add_argument("--out", required=True, type=output_dir)
    pred.add_argument("--device", default="auto", help="auto (CUDA, MPS, CPU), cpu, cuda, cuda:1, mps")
    add_precision_argument(pred)
    pred.add_argument("--overlay", action="store_true", help="also write <stem>_overlay.jpg")
    pred.add_argument("--confidence", action="store_true", help="also write <stem>_confidence.png")
    pred.add_argument("--opacity", type=float, default=0.5)
    pred.add_argument("--tile", type=positive_int, help="tile side for large images (pixels)")
    pred.add_argument("--batch", type=positive_int, default=4, help="same-size images per forward pass")
    pred.add_argument("--ahead", type=positive_int, default=4,
                      help="images decoded ahead of the model (memory: about this many images)")
    pred.set_defaults(func=cmd_predict)


def cmd_predict(args: argparse.Namespace) -> int:
    import torch  # noqa: PLC0415

    from fcn_studio.core.slide import is_slide
    from fcn_studio.inference.batch_predict import collect_inputs, predict_files, shard
    from fcn_studio.inference.device import pick_device
    from fcn_studio.inference.precision import explain
    from fcn_studio.inference.predictor import Predictor
    from fcn_studio.training import distributed

    pairs = collect_inputs(args.inputs)
    slides = [p for p in pairs if is_slide(p[0])]
    pairs_flat = [p for p in pairs if p not in slides]
    if not pairs:
        raise ValueError(f"no image found in {', '.join(map(str, args.inputs))}")
    requested = pick_device(args.device)
    d = distributed.setup(requested)
    try:
        device = distributed.local_device(requested, d)
        predictor, info = Predictor.from_checkpoint(args.model, device=device, tile=args.tile,
                                                    precision=args.precision)
        if d.main:  # once per run, whatever the number of processes
            print(explain(predictor.precision, args.precision, device, info.config.backbone))
        mine = shard(pairs_flat, d.rank, d.world_size)
        # counts travel on the device the process group speaks (NCCL: CUDA, gloo: CPU)
        count_device = device if device.type == "cuda" and d.enabled else torch.device("cpu")
        progress = _RankProgress(len(pairs_flat), d, count_device)
        try:
            result = predict_files(predictor, info.labels, mine, args.out, overlay=args.overlay,
                                   confidence=args.confidence, opacity=args.opacity, progress=progress,
                                   batch_size=args.batch, ahead=args.ahead)
            # every rank takes part in as many reductions as the largest share has files
            for _ in range(len(shard(pairs_flat, 0, d.world_size)) - len(mine)):
                progress.pad()
            for path, rel in shard(slides, d.rank, d.world_size):  # each slide by one rank, tile by tile
                _predict_one_slide(predictor, info.labels, path, args.out / f"{rel}.ome.tif", result)
            written, failed = progress.totals(len(result.written), len(result.failed))
        finally:
            progress.close()
    finally:
        distributed.teardown(d)
    for path, why in result.failed:  # each rank names its own failures, one line each
        print(f"{path}: {why}", file=sys.stderr)
    if d.main:
        print(f"{written} written to {args.out}, {failed} failed")
    return 1 if failed or not written else 0


def _predict_one_slide(predictor, labels, path: Path, out: Path, result) -> None:
    """A slide's labels as a pyramidal OME-TIFF, never holding the slide; a failure is reported, not fatal."""
    from fcn_studio.cli.progress import ProgressBar  # noqa: PLC0415
    from fcn_studio.core.image_io import ImageLoadError  # noqa: PLC0415
    from fcn_studio.core.slide import TileCache, open_slide  # noqa: PLC0415
    from fcn_studio.inference.slide_predict import predict_slide  # noqa: PLC0415

    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        # One pass in rows: the cache need only keep the overlap between rows of tiles (384 rows of a
        # 46,000-pixel-wide slide are 53 MB), not the 256 MB a person panning back and forth uses.
        with open_slide(path, cache=TileCache(64 * 2**20)) as slide, ProgressBar(f"predict {path.name}") as bar:
            predict_slide(predictor, slide, out, progress=bar, labels=labels)
        result.written.append(out)
    except (ImageLoadError, OSError, ValueError) as exc:
        result.failed.append((path, str(exc)))


class _RankProgress:
    """One progress bar for all ranks: after each file (or an empty slot, for ranks with a shorter
    share), the ranks sum how many files they finished since, and rank 0 shows the total."""

    def __init__(self, total: int, d, device) -> None:
        import torch  # noqa: PLC0415

        from fcn_studio.cli.progress import ProgressBar  # noqa: PLC0415
        from fcn_studio.training.distributed import all_reduce_sum  # noqa: PLC0415

        self.torch, self.all_reduce_sum = torch, all_reduce_sum
        self.d, self.device, self.total = d, device, total
        self.bar = ProgressBar("predict") if d.main else None
        self.mine = self.shown = 0

    def __call__(self, done: int, _total: int | None) -> None:
        """This rank's progress (its own share): one file more each call."""
        self._add(done - self.mine)
        self.mine = done

    def pad(self) -> None:
        self._add(0)

    def _add(self, files: int) -> None:
        self.shown += self._sum([files])[0]
        if self.bar is not None:
            self.bar(self.shown, self.total)

    def totals(self, written: int, failed: int) -> tuple[int, int]:
        written, failed = self._sum([written, failed])
        return written, failed

    def _sum(self, values: list[int]) -> list[int]:
        if not self.d.enabled:
            return values
        t = self.torch.tensor(values, dtype=self.torch.int64, device=self.device)
        return [int(v) for v in self.all_reduce_sum(t, self.d).tolist()]

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
