"""The click model's training process, the app's second keep-learning lane (`python -m
fcn_studio.training.click_lane`), started by the app at the same low priority as the first and stopped
by a line on its stdin, like it (training.backend). Two jobs:

- `--make-start OUT`: the machine's start model, once: the ImageNet encoder trained on generated images
  (core.click_shapes) for `--seconds`, so the Click tool does something sensible on day one, offline.
- `PROJECT --start MODEL --out FOLDER [--follow]`: learning from the project's own masks. Each round
  reads the project (its corrected and reviewed masks, split by the one split policy: training images'
  objects train, validation images and held-out regions score), trains a copy of the best model so far
  for `--round-seconds`, scores both on the same validation objects by NoC@85 (the click protocol,
  core.clicks), and saves the copy as the next version only when it needs fewer clicks. With --follow
  it goes on until stopped, waiting while there is nothing to learn from.

Events are the training backend's JSON lines (training.events): progress, checkpoint (a new version,
with `noc85`, `previous_noc85`, `val_objects`, `trained_objects`), warning, finished, failed."""

from __future__ import annotations

import argparse
import copy
import os
import random
import sys
import threading
import time
import traceback
from pathlib import Path

import numpy as np

from fcn_studio.core.clicks import objects, simulate
from fcn_studio.core.image_io import ImageLoadError, load_image
from fcn_studio.core.labels import IGNORE_INDEX
from fcn_studio.core.mask_io import MaskError, read_mask
from fcn_studio.training.backend import LOW_PRIORITY_ENV
from fcn_studio.training.events import EventWriter
from fcn_studio.training.runner import lower_priority
from fcn_studio.training.stopping import stop_on_sigterm, watch_stdin

MAX_VAL_OBJECTS = 60  # scoring cost stays bounded however large the project grows
WAIT_S = 5.0  # between looks at a project with nothing to learn from


def make_start_model(out: Path, seconds: float, steps: int | None, events: EventWriter, stop: threading.Event,
                     images: int = 300) -> None:
    from fcn_studio.model.click_net import new_click_net, save_click_model  # noqa: PLC0415
    from fcn_studio.training.click_training import shape_samples, train  # noqa: PLC0415

    net, encoder_note = new_click_net()
    samples = shape_samples(images)
    start = time.monotonic()

    def on_step(i: int, loss: float) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        spent = time.monotonic() - start
        fraction = min(1.0, i / steps) if steps else min(1.0, spent / seconds)
        events.emit("progress", iteration=i, epoch=0, loss=loss, lr=1e-3, images_per_s=8 * i / max(spent, 1e-6),
                    eta_s=max(0.0, seconds - spent) if not steps else None, fraction=fraction)

    done = train(net, samples, steps=steps, seconds=None if steps else seconds, on_step=on_step)
    save_click_model(out, net, {"made": "start", "steps": done, "encoder": encoder_note,
                                "data": f"{images} generated images"})
    events.emit("checkpoint", path=str(out), iteration=done, epoch=0, best=True)


# -- learning from a project ----------------------------------------------------------------------------
def project_objects(root: Path, events: EventWriter):
    """(training samples grouped by image, validation objects as (image, truth, ignore)) of the
    project's labelled images; an image or mask that cannot be read is skipped with a warning."""
    from fcn_studio.core.splits import TRAINED, mask_part  # noqa: PLC0415
    from fcn_studio.training.click_training import samples_from  # noqa: PLC0415
    from fcn_studio.training.data import project_source  # noqa: PLC0415

    source = project_source(root)
    train, val = [], []
    for item in [*source.train, *source.val]:
        try:
            image = load_image(item.image)
            mask = read_mask(item.mask, image.shape[:2])
        except (ImageLoadError, MaskError, OSError, ValueError) as exc:
            events.emit("warning", message=f"skipped {item.image.name}: {exc}")
            continue
        part = mask_part(mask, item.key, item.part, IGNORE_INDEX)  # the split's pixels, as the trainer sees them
        if item.part == TRAINED:
            group = samples_from([image], [part], IGNORE_INDEX)
            if group:
                train.append(group)
        else:
            val += [(image, truth, part == IGNORE_INDEX) for _cls, truth in objects(part, IGNORE_INDEX)]
    if len(val) > MAX_VAL_OBJECTS:  # the same objects every round while the masks stay the same
        val = [val[i] for i in sorted(random.Random(0).sample(range(len(val)), MAX_VAL_OBJECTS))]
    return train, val


def noc85(net, val) -> float:
    """Mean clicks to 85% IoU over the validation objects (the click protocol, at most 20 clicks)."""
    from fcn_studio.inference.click_session import ClickSession  # noqa: PLC0415

    counts = []
    for image, truth, ignore in val:
        session = ClickSession(net, image)
        run = simulate(lambda clicks, previous, s=session: s.answer(clicks, previous), truth, ignore, stop_at=0.85)
        counts.append(run.noc(0.85))
    return float(np.mean(counts))


def follow(args, events: EventWriter, stop: threading.Event) -> None:
    from fcn_studio.model.click_net import load_click_model, save_click_model  # noqa: PLC0415
    from fcn_studio.training.click_training import LEARN_LR, train  # noqa: PLC0415

    best, _meta = load_click_model(args.start)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    number = args.first_version
    rounds = 0
    while not stop.is_set():
        train_groups, val = project_objects(Path(args.project), events)
        if not train_groups or not val:
            if not args.follow:
                raise RuntimeError("nothing to learn from yet: the click model learns from the objects of "
                                   "corrected or reviewed masks, and scores on their held-out regions")
            stop.wait(WAIT_S)
            continue
        candidate = copy.deepcopy(best)
        start = time.monotonic()

        def on_step(i: int, loss: float, start=start, rounds=rounds) -> None:
            if stop.is_set():
                raise KeyboardInterrupt
            events.emit("progress", iteration=i, epoch=rounds, loss=loss, lr=LEARN_LR,
                        images_per_s=8 * i / max(time.monotonic() - start, 1e-6), eta_s=None)

        steps = train(candidate, train_groups, steps=args.round_steps, seconds=None if args.round_steps
                      else args.round_seconds, lr=LEARN_LR, seed=rounds, on_step=on_step)
        now, was = noc85(candidate, val), noc85(best, val)
        rounds += 1
        if now < was:
            path = out / f"click-v{number}.safetensors"
            save_click_model(path, candidate, {"made": "project", "version": number, "steps": steps,
                                               "noc85": now, "previous_noc85": was})
            events.emit("checkpoint", path=str(path), iteration=steps, epoch=rounds, best=True, model="click",
                        version=number, noc85=now, previous_noc85=was, val_objects=len(val),
                        trained_objects=sum(map(len, train_groups)))
            best, number = candidate, number + 1
        else:
            events.emit("validation", iteration=steps, epoch=rounds, pixel_accuracy=None, mean_accuracy=None,
                        mean_iu=None, frequency_weighted_iu=None, per_class_iu={}, model="click", noc85=now,
                        previous_noc85=was, val_objects=len(val))
        if not args.follow:
            break


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m fcn_studio.training.click_lane", description=__doc__.split("\n")[0])
    ap.add_argument("project", nargs="?", type=Path)
    ap.add_argument("--make-start", type=Path, metavar="OUT", help="make the machine's start click model")
    ap.add_argument("--seconds", type=float, default=240.0, help="how long the start model trains")
    ap.add_argument("--steps", type=int, help="train the start model this many steps instead (tests)")
    ap.add_argument("--images", type=int, default=300, help="generated images the start model learns from")
    ap.add_argument("--start", type=Path, help="the click model to learn from (the one in use)")
    ap.add_argument("--out", type=Path, help="where new versions go")
    ap.add_argument("--first-version", type=int, default=1)
    ap.add_argument("--round-seconds", type=float, default=60.0)
    ap.add_argument("--round-steps", type=int, help="train each round this many steps instead (tests)")
    ap.add_argument("--follow", action="store_true", help="go on until stopped")
    ap.add_argument("--stop-on-stdin", action="store_true")
    ap.add_argument("--low-priority", action="store_true")
    args = ap.parse_args(argv)
    stop = threading.Event()
    if args.stop_on_stdin:
        watch_stdin(stop)
    stop_on_sigterm(stop)
    # learning alongside the semantic lane takes one core; the start model (made once, while nothing else
    # trains) all but one, like the semantic backend
    threads = None if args.make_start else 1
    if args.low_priority or os.environ.get(LOW_PRIORITY_ENV):
        lower_priority(threads)
    elif threads:
        import torch  # noqa: PLC0415

        torch.set_num_threads(threads)
    events = EventWriter(sys.stdout)
    started = time.monotonic()
    try:
        if args.make_start:
            make_start_model(args.make_start, args.seconds, args.steps, events, stop, args.images)
        elif args.project and args.start and args.out:
            follow(args, events, stop)
        else:
            ap.error("give --make-start OUT, or PROJECT --start MODEL --out FOLDER")
    except KeyboardInterrupt:
        pass
    except Exception as exc:  # noqa: BLE001 - reported as an event, the app shows it
        events.emit("failed", message=str(exc) or type(exc).__name__, details=traceback.format_exc()[-4000:])
        return 1
    events.emit("finished", best_checkpoint="", best_mean_iu=None, iterations=0,
                seconds=round(time.monotonic() - started, 1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
