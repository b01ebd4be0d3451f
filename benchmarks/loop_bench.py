"""How much does the loop save a person? A simulated annotator (issues 11 and 21).

The person works through the images in file-name order (`--order name`) or takes the image the app
offers next, as pressing N does (`--order app`: workspace.next_image, over the uncertainty of the
predictions the app keeps of the uncorrected images, predicted again with each model swapped in, as the
window does). For each image: the prediction the app would show at that moment (the model in use then,
after any swaps) is scored against the true mask; the person then "corrects" it: the true mask is saved
as the person's mask through the project API the window uses (`Project.save_mask`, state corrected); S
seconds of wall-clock time pass while the real backend keeps learning; next image. Three ways to work,
each from the same starting model (a new project's default):

- `loop`: Keep learning on (training.keep_learning, the object the window drives), switched on before
  the first image is shown (its backend gets ready and learns from the first correction on); every
  version it offers is swapped in before the next image is shown;
- `static`: a model that never learns (the starting model throughout);
- `today`: one training run of the default length (`--minutes`, 3) started after the first half, its
  model swapped in when it ends (as the window does when it validates better; here always).

Keep learning runs once per order asked (`--order name app`, the default: both, beside the baselines,
which take the images in name order). Per image: index, image, model version shown, mean IU of the
shown prediction (over the classes present in the truth or the prediction, 255 ignored), fraction of
labelled pixels the person had to change. Summary and `--json`: `shown_miou`, `second_half_miou`,
`effort_ratio` (changed pixels over the pixels a person labelling from scratch would paint, truth not
background, summed over all images) and `wall_s` for each mode.

Run: `python benchmarks/loop_bench.py --images DIR --masks DIR [--classes FILE] [--seconds-per-image S]
[--backbone B] [--order name app] [--json OUT]`, or `--sample N` for N generated images (the sample
project's), or `--microscopy` for 16 real 16-bit 128 x 128 tiles of fluorescent nuclei
(benchmarks/microscopy_tiles.py)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fcn_studio.core.image_io import load_image  # noqa: E402
from fcn_studio.core.labels import LabelSet  # noqa: E402
from fcn_studio.core.mask_io import read_mask  # noqa: E402
from fcn_studio.core.metrics import confusion_histogram, scores_from_histogram  # noqa: E402
from fcn_studio.project.project import Project  # noqa: E402

MODES = ("loop", "static", "today")
ORDERS = ("name", "app")


def pairs(images: Path, masks: Path) -> list[tuple[Path, Path]]:
    found = []
    for image in sorted(p for p in images.iterdir() if p.is_file() and not p.name.startswith(".")):
        mask = masks / f"{image.stem}.png"
        if mask.is_file():
            found.append((image, mask))
    if not found:
        raise SystemExit(f"no image in {images} has a mask <name>.png in {masks}")
    return found


def data_from_args(args, work: Path, ap) -> LabelSet | None:
    """`--sample N` (generated images), `--microscopy` (the nuclei tiles) or `--images`/`--masks`: sets
    args.images and args.masks (and args.classes for the tiles); returns the label set when it is known
    (the sample's), else None. Shared with click_bench.py."""
    if args.sample:
        from fcn_studio.core.sample_data import SAMPLE_LABELS, write_sample_images  # noqa: PLC0415

        write_sample_images(work / "images", args.sample, with_masks_in=work / "masks")
        args.images, args.masks = work / "images", work / "masks"
        return SAMPLE_LABELS
    if args.microscopy:
        from microscopy_tiles import write_tiles  # noqa: PLC0415 (beside this script)

        args.images, args.masks = write_tiles(work / "microscopy")
        args.classes = work / "microscopy" / "classes.txt"
    elif args.images is None or args.masks is None:
        ap.error("give --images and --masks, --sample N or --microscopy")
    return None


def infer_labels(masks: list[np.ndarray]) -> LabelSet:
    top = max(int(m[m != 255].max(initial=0)) for m in masks)
    return LabelSet(tuple(["background", *(f"class {i}" for i in range(1, top + 1))]))


def shown_scores(truth: np.ndarray, shown: np.ndarray, n: int, ignore: int) -> tuple[float, int, int]:
    """(mean IU of what was shown, pixels the person had to change, pixels a person would paint)."""
    mean_iu = scores_from_histogram(confusion_histogram(truth, shown, n)).mean_iu
    labelled = truth != ignore
    changed = int(((shown != truth) & labelled).sum())
    paint = int((labelled & (truth != 0)).sum())
    return float(mean_iu), changed, paint


class ModelInUse:
    """The model the app would show predictions of: reloaded when a newer one is offered."""

    def __init__(self, path: Path) -> None:
        self.offered: tuple[str, Path] = ("start", path)
        self.version, self.predictor = None, None

    def offer(self, name: str, path: Path) -> None:
        self.offered = (name, Path(path))

    def prediction(self, image: np.ndarray):
        from fcn_studio.inference.predictor import Predictor  # noqa: PLC0415

        name, path = self.offered
        if name != self.version:
            self.predictor, _ = Predictor.from_checkpoint(path, "cpu")
            self.version = name
        return self.predictor.predict(image)

    def predict(self, image: np.ndarray) -> tuple[str, np.ndarray]:
        labels = self.prediction(image).labels
        return self.version, labels


def predict_uncorrected(project: Project, in_use: ModelInUse, by_id: dict[int, Path]) -> None:
    """What the window does when a model is swapped in: the images no person labelled are predicted
    again, and their uncertainty stored for N."""
    for rec in project.most_uncertain():
        prediction = in_use.prediction(load_image(by_id[rec.id]))
        project.save_prediction(rec.id, prediction.labels, prediction.confidence, prediction.uncertainty())


def run_mode(mode: str, data: list[tuple[Path, Path]], labels: LabelSet, truths: list[np.ndarray],
             args, work: Path, order: str = "name") -> dict:
    from fcn_studio.model.checkpoint import save_checkpoint  # noqa: PLC0415
    from fcn_studio.model.factory import new_model  # noqa: PLC0415
    from fcn_studio.training.keep_learning import KeepLearning  # noqa: PLC0415
    from fcn_studio.workspace.next_image import next_to_label  # noqa: PLC0415

    name = mode if mode != "loop" else f"loop-{order}"
    project = Project.create(work / name, labels)
    project.add_images([image for image, _ in data])
    by_path = {Path(project.image_path(r)).resolve(): r.id for r in project.images()}
    by_id = {i: p for p, i in by_path.items()}
    truth_of = {image.resolve(): t for (image, _), t in zip(data, truths, strict=True)}
    model, info, _ = new_model("fcn8s", args.backbone, labels)
    start = work / name / "models" / "start.safetensors"
    save_checkpoint(start, model, info)
    project.set_model_path(start)
    in_use = ModelInUse(start)
    loop, today = None, None
    rows, changed_sum, paint_sum = [], 0, 0
    half = len(data) // 2
    predicted_with = None

    def predict_after_swap() -> None:  # as the window does with each model swapped in (app order only)
        nonlocal predicted_with
        if order == "app" and in_use.offered[0] != predicted_with:
            predicted_with = in_use.offered[0]
            predict_uncorrected(project, in_use, by_id)

    try:
        if mode == "loop":  # the switch is on when the person starts: the backend is ready for the first label
            loop = KeepLearning(project.root, start_model=start, train_args=["--device", "cpu"])
            loop.use.connect(lambda v: in_use.offer(f"v{v.version}", Path(v.path)))
            loop.start()
        for index in range(len(data)):
            if order == "app":
                predict_after_swap()
                chosen = next_to_label(project)
                image_path = by_id[chosen.image_id]
            else:
                image_path = data[index][0].resolve()
            truth = truth_of[image_path.resolve()]
            if today is not None and today[0].poll() is not None and today[1].is_file():
                in_use.offer("run", today[1])
                today = (today[0], Path("-"))  # swapped in once
            image = load_image(image_path)
            version, shown = in_use.predict(image)
            mean_iu, changed, paint = shown_scores(truth, shown, len(labels), labels.ignore_index)
            labelled = max(1, int((truth != labels.ignore_index).sum()))
            rows.append({"index": index, "image": image_path.name, "version": version, "shown_miou": mean_iu,
                         "changed": changed / labelled})
            changed_sum, paint_sum = changed_sum + changed, paint_sum + paint
            print(f"{name:<10} {index:>3}  {image_path.name:<16} {version:<6} mean IU {mean_iu:.3f}  "
                  f"changed {changed / labelled:6.1%}", flush=True)
            project.save_mask(by_path[image_path.resolve()], truth)  # the person's correction
            if mode == "today" and index + 1 == half:
                out = work / name / "models" / "run.safetensors"
                proc = subprocess.Popen([sys.executable, "-m", "fcn_studio.training", str(project.root), "--model",
                                         str(start), "--out", str(out), "--device", "cpu", "--time-limit",
                                         str(int(args.minutes * 60)), "--iterations", "1000000"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                today = (proc, out)
            if mode != "static":  # nothing learns in static: waiting would change nothing
                # S seconds of the person's time, in which the app also predicts again after each swap
                deadline = time.perf_counter() + args.seconds_per_image
                while deadline > time.perf_counter():
                    predict_after_swap()
                    time.sleep(min(0.2, max(0.0, deadline - time.perf_counter())))
    finally:
        if loop is not None:
            loop.stop()
        if today is not None and today[0].poll() is None:
            today[0].kill()
            today[0].wait()
        project.close()
    shown = [r["shown_miou"] for r in rows]
    return {"rows": rows, "shown_miou": shown, "second_half_miou": float(np.mean(shown[len(shown) // 2:])),
            "effort_ratio": changed_sum / max(1, paint_sum)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", type=Path)
    ap.add_argument("--masks", type=Path)
    ap.add_argument("--classes", type=Path, help="class names (else background and class 1..n from the masks)")
    ap.add_argument("--sample", type=int, help="use N generated images (the sample project's) instead")
    ap.add_argument("--microscopy", action="store_true",
                    help="use 16 real 16-bit nuclei tiles (benchmarks/microscopy_tiles.py; needs stardist's data)")
    ap.add_argument("--seconds-per-image", type=float, default=20.0)
    ap.add_argument("--backbone", default=None, help="default: a new project's default backbone")
    ap.add_argument("--minutes", type=float, default=3.0, help="length of today's one training run")
    ap.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    ap.add_argument("--order", nargs="+", default=list(ORDERS), choices=ORDERS,
                    help="keep learning's image order(s): name, or the one the app offers (N); default both")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="loop-bench-") as tmp:
        work = Path(tmp)
        labels = data_from_args(args, work, ap)
        data = pairs(args.images, args.masks)
        truths = [read_mask(m) for _, m in data]
        if labels is None:
            labels = LabelSet.from_file(args.classes) if args.classes else infer_labels(truths)
        truths = [np.where(t < len(labels), t, labels.ignore_index).astype(np.uint8) for t in truths]
        results = {}
        for mode in args.modes:
            for order in (args.order if mode == "loop" else ["name"]):
                started = time.perf_counter()
                key = mode if mode != "loop" else f"loop-{order}"
                results[key] = run_mode(mode, data, labels, truths, args, work, order)
                results[key]["wall_s"] = time.perf_counter() - started
    print(f"\n{len(data)} images, {args.seconds_per_image:g} s per image, backbone {args.backbone or 'default'}")
    print(f"{'mode':<10} {'mean shown IU':>14} {'second half':>12} {'effort ratio':>13} {'wall s':>7}")
    for mode, r in results.items():
        print(f"{mode:<10} {np.mean(r['shown_miou']):>14.3f} {r['second_half_miou']:>12.3f} "
              f"{r['effort_ratio']:>13.3f} {r['wall_s']:>7.0f}")
    if args.json:
        main_mode = results.get("loop-app") or results.get("loop-name") or next(iter(results.values()))
        payload = {"images": len(data), "seconds_per_image": args.seconds_per_image,
                   "shown_miou": main_mode["shown_miou"], "second_half_miou": main_mode["second_half_miou"],
                   "effort_ratio": main_mode["effort_ratio"], "modes": results}
        args.json.write_text(json.dumps(payload, indent=1))


if __name__ == "__main__":
    main()
