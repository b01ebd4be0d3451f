"""The training loop, one process or DDP. It streams events, validates each epoch with the one
evaluation (inference/evaluate.py: one histogram, summed over ranks), writes checkpoints in our format
each epoch (atomic, the best by validation mean IU kept, its score and the fingerprint of the images
it was scored on in its metadata, so the comparison after the run need not score it again), and
resumes from the last one exactly where it stopped (weights, optimizer state and the position in the
epoch's sample order)."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler, RandomSampler

from fcn_studio.core.metrics import scores_from_histogram
from fcn_studio.core.splits import HELD_OUT, WHOLE
from fcn_studio.inference.device import device_name, pick_device
from fcn_studio.inference.evaluate import confusion_over_pairs, scoring_predictor, validation_fingerprint
from fcn_studio.inference.precision import autocast, training_precision
from fcn_studio.model.checkpoint import CheckpointInfo, load_checkpoint, new_provenance, save_checkpoint
from fcn_studio.model.factory import new_model
from fcn_studio.model.input_spec import normalise_batch
from fcn_studio.model.network import has_aux_head
from fcn_studio.training import distributed as D
from fcn_studio.training.batchnorm import batchnorm_batches, recompute_batchnorm
from fcn_studio.training.config import TrainConfig
from fcn_studio.training.data import (
    Augment,
    DataSource,
    Item,
    SegmentationDataset,
    Skipped,
    collate_readable,
    fitted_crop,
    open_source,
)
from fcn_studio.training.events import EventWriter
from fcn_studio.training.losses import median_frequency_weights, network_loss
from fcn_studio.training.recipes import Recipe, check_recipe_fits, cpu_batch_size, get_recipe
from fcn_studio.training.state_io import load_trainer_state, save_trainer_state
from fcn_studio.training.stopping import StopRequested

MIN_EPOCH_SAMPLES = 64  # tiny projects: an "epoch" repeats the images so a checkpoint is worth writing
NO_VALIDATION = "no validation images yet"
FOLLOW_POLL_S = 0.5  # --follow with nothing labelled yet: how often the project is read again


def sibling(out: Path, kind: str) -> Path:
    return out.with_name(f"{out.stem}.{kind}.safetensors")


def build_model(cfg: TrainConfig, source: DataSource, recipe: Recipe,
                arch: str) -> tuple[nn.Module, CheckpointInfo, str]:
    if cfg.model is not None:
        model, info = load_checkpoint(cfg.model)
        if len(info.labels) != len(source.labels):
            raise ValueError(f"{cfg.model} has {len(info.labels)} classes but the training data has "
                             f"{len(source.labels)} ({', '.join(source.labels.names)})")
        info.labels = source.labels  # names and colours from the data; the indices agree
        return model.train(), info, f"from {cfg.model}"
    extra = {"pool4_scale": 0.01, "pool3_scale": 1e-4} if recipe.at_once else {}
    if cfg.aux_head:
        extra["with_aux"] = True
    model, info, note = new_model(arch, cfg.backbone, source.labels, weights=cfg.weights, **extra)
    return model.train(), info, note


def param_groups(model: nn.Module, recipe: Recipe, lr: float, pretrained: bool) -> list[dict]:
    groups = {}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        encoder = name.startswith("backbone.")
        bias = name.endswith(".bias") or p.ndim == 1
        mult = (recipe.encoder_lr_mult if encoder and pretrained else 1.0) * (recipe.bias_lr_mult if bias else 1.0)
        decay = 0.0 if (bias and not recipe.bias_decay) or p.ndim == 1 else recipe.weight_decay
        groups.setdefault((mult, decay), []).append(p)
    return [{"params": ps, "lr": lr * m, "initial_lr": lr * m, "weight_decay": wd} for (m, wd), ps in groups.items()]


def make_optimizer(groups: list[dict], recipe: Recipe) -> torch.optim.Optimizer:
    if recipe.optimizer == "sgd":
        return torch.optim.SGD(groups, momentum=recipe.momentum)
    return torch.optim.AdamW(groups)


def set_lr(optimizer: torch.optim.Optimizer, recipe: Recipe, iteration: int, total: int,
           time_fraction: float = 0.0) -> float:
    """Poly decay over the run: by iterations, or by the clock when the run has a time limit."""
    done = min(1.0, max(iteration / total, time_fraction))
    factor = (1 - done) ** 0.9 if recipe.schedule == "poly" else 1.0
    for g in optimizer.param_groups:
        g["lr"] = g["initial_lr"] * factor
    return optimizer.param_groups[0]["lr"]


@torch.inference_mode()
def validate(model: nn.Module, items: list[Item], source: DataSource, spec, device: torch.device,
             d: D.Dist, skipped: list[tuple[Path, str]] | None = None) -> tuple[np.ndarray, int]:
    """One confusion histogram over the validation images and how many were scored (each rank its
    share, then summed), through the same scoring as `fcn-studio eval` and the model comparison.
    Images that could not be read (a mask undone since the list was made) are left out and added to
    `skipped` as (image, reason)."""
    was_training = model.training
    try:
        mine = items[d.rank :: d.world_size]
        cm, done, missed = confusion_over_pairs(scoring_predictor(model, spec, device), source.labels,
                                                [(it.image, it.mask) for it in mine],
                                                parts=[(it.key, it.part) for it in mine])
    finally:
        model.train(was_training)
    if skipped is not None:
        skipped.extend(missed)
    summed = D.all_reduce_sum(torch.from_numpy(np.append(cm.hist.ravel(), done)), d).numpy()
    return summed[:-1].reshape(cm.hist.shape), int(summed[-1])


def fingerprint(items: list[Item]) -> str:
    """What a validation score was computed on (inference.evaluate.validation_fingerprint)."""
    return validation_fingerprint((it.name, it.image, it.mask) for it in items)


def measure(items: list[Item], hist: np.ndarray) -> dict:
    """What a validation score was measured on: whole images, images' held-out regions, pixels."""
    return {"val_images": sum(it.part == WHOLE for it in items),
            "val_regions": sum(it.part == HELD_OUT for it in items), "val_pixels": int(hist.sum())}


def _any_rank(flags: list[bool], d: D.Dist) -> list[bool]:
    if not d.enabled:
        return flags
    t = torch.tensor([1 if f else 0 for f in flags])
    torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
    return [bool(v) for v in t.tolist()]


def _check_stop(stop: threading.Event | None, d: D.Dist) -> None:
    if _any_rank([stop is not None and stop.is_set()], d)[0]:
        raise StopRequested


def epoch_order(train_set: SegmentationDataset, epoch: int, seed: int, d: D.Dist) -> list[int]:
    """This rank's sample order for an epoch: a function of (seed, epoch) only, so a resumed run takes
    the same batches as one that never stopped."""
    if d.enabled:
        sampler = DistributedSampler(train_set, d.world_size, d.rank, shuffle=True, seed=seed)
        sampler.set_epoch(epoch)
    else:
        sampler = RandomSampler(train_set, generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch))
    return list(sampler)


def lone_last_sample(samples: int, batch: int) -> bool:
    """Whether an epoch would end in a batch of one sample, which is left out: batch norm cannot train
    on one sample whose deepest features are 1 x 1 (a small crop), and one sample is a noisy step."""
    return batch > 1 and samples % batch == 1


def batches_per_epoch(samples: int, batch: int) -> int:
    return math.ceil(samples / batch) - (1 if lone_last_sample(samples, batch) else 0)


def epoch_loader(train_set: SegmentationDataset, order: list[int], batch: int, workers: int,
                 device: torch.device) -> DataLoader:
    """A new loader every epoch: worker processes start from the dataset as it is now (the items
    `--follow` added, the epoch that seeds augmentation); persistent workers would keep stale copies."""
    return DataLoader(train_set, batch_size=batch, sampler=order, num_workers=workers, collate_fn=collate_readable,
                      drop_last=lone_last_sample(len(order), batch), pin_memory=device.type == "cuda")


def too_small(images: torch.Tensor | None, batch: int) -> bool:
    """A batch whose unreadable items left nothing, or one sample where the recipe asked for more
    (the rule of `lone_last_sample`): it is not trained on."""
    return images is None or (batch > 1 and images.shape[0] == 1)


class SkipNotes:
    """Says once per epoch and item that an item was skipped (a `warning` event), and notices an epoch
    that could train on nothing at all."""

    def __init__(self, events: EventWriter, d: D.Dist) -> None:
        self.events, self.d = events, d
        self.seen: set[str] = set()

    def new_epoch(self) -> None:
        self.seen.clear()

    def note(self, skipped: list[Skipped], epoch: int) -> None:
        fresh = list({s.key: s for s in skipped if s.key not in self.seen}.values())  # a batch may repeat one
        self.seen.update(s.key for s in fresh)
        if fresh and self.d.main:
            self.events.emit("warning", epoch=epoch, skipped=[s.name for s in fresh],
                             message=f"skipped for this epoch: {'; '.join(s.reason for s in fresh)}")


def run(cfg: TrainConfig, events: EventWriter, stop: threading.Event | None = None) -> dict:
    """Trains as configured; returns the `finished` event. Raises on failure (the caller reports it)
    and StopRequested when `stop` is set. `cfg.time_limit` is for the whole run: with staged training
    each stage gets an equal share of the time still left."""
    base_recipe = get_recipe(cfg.recipe)
    recipe = replace(base_recipe, **{k: v for k, v in (("batch_size", cfg.batch_size), ("lr", cfg.lr),
                                                       ("crop", cfg.crop)) if v is not None})
    check_recipe_fits(cfg.arch, cfg.model is not None, recipe)
    stages = list(recipe.stages) if (recipe.stages and cfg.model is None) else [(cfg.arch, recipe.lr)]
    if recipe.stages and cfg.model is None and cfg.arch != "fcn8s":  # staged up to the asked architecture
        stages = stages[: [a for a, _ in stages].index(cfg.arch) + 1]
    requested = pick_device(cfg.device)
    d = D.setup(requested)
    device = D.local_device(requested, d)
    torch.manual_seed(cfg.seed + d.rank)
    run_started = time.perf_counter()
    try:
        result = None
        previous: nn.Module | None = None
        for stage_index, (arch, lr) in enumerate(stages):
            stage_cfg = replace(cfg, arch=arch, lr=cfg.lr if cfg.lr is not None else lr)
            if previous is not None:  # staged training: the next head starts from the last one's weights
                stage_cfg = replace(stage_cfg, model=None, weights=None)
            if cfg.time_limit is not None:
                left = max(0.0, cfg.time_limit - (time.perf_counter() - run_started))
                stage_cfg = replace(stage_cfg, time_limit=left / (len(stages) - stage_index))
            result, previous = _run_stage(stage_cfg, replace(recipe, lr=stage_cfg.lr), events, device, d, previous,
                                          stage_index, len(stages), stop)
        return result
    finally:
        D.teardown(d)


def rescore(checkpoint: Path, items: list[Item], source: DataSource, device: torch.device, d: D.Dist) -> float:
    """The mean IU of a saved model on `items`, through the same validation as the model being trained."""
    kept, info = load_checkpoint(checkpoint, device)
    score = scores_from_histogram(validate(kept, items, source, info.input, device, d)[0]).mean_iu
    return score if math.isfinite(score) else -1.0


def _reread(cfg: TrainConfig, last: DataSource, events: EventWriter, d: D.Dist) -> DataSource:
    """The project's labelled images as they are now (`--follow`): the images that joined, without
    those that left (undone, cleared, re-classed). A project that cannot be read this moment (busy)
    keeps the last list for one more epoch, with a warning: no single read ends a run."""
    try:
        return open_source(cfg.source, cfg.val_fraction)
    except Exception as exc:  # noqa: BLE001 - the next epoch reads it again
        if d.main:
            events.emit("warning", message=f"the project could not be read again ({exc}); "
                                           "this epoch trains on the images it had")
        return last


def _repeat(recipe: Recipe, train_items: int) -> int:
    return max(1, math.ceil(MIN_EPOCH_SAMPLES / max(1, train_items))) if recipe.crop else 1


def _run_stage(cfg: TrainConfig, recipe: Recipe, events: EventWriter, device: torch.device, d: D.Dist,
               previous: nn.Module | None, stage: int, stages: int, stop: threading.Event | None):
    _check_stop(stop, d)
    source = open_source(cfg.source, cfg.val_fraction)
    if not source.train and not (cfg.follow and not d.enabled):
        raise ValueError(f"{source.description}: no labelled image to learn from; correct or review some first")
    model, info, note = build_model(cfg, source, recipe, cfg.arch)
    while not source.train:  # keep learning started early: ready (imports done, model built) for the first label
        _check_stop(stop, d)
        time.sleep(FOLLOW_POLL_S)
        source = open_source(cfg.source, cfg.val_fraction)
    encoder_loaded = int(info.provenance.get("encoder_tensors_loaded", 0))
    if previous is not None:
        own = model.state_dict()
        model.load_state_dict({k: v for k, v in previous.state_dict().items()
                               if k in own and own[k].shape == v.shape}, strict=False)
    # A trained start (a checkpoint, the previous stage) or an encoder with loaded tensors learns its
    # features slower than the new head; a random encoder learns at the full rate.
    pretrained = cfg.model is not None or previous is not None or encoder_loaded > 0
    model = model.to(device).to(memory_format=torch.channels_last)
    def crop_for(items: list[Item]) -> int | None:  # an asked --crop wins; else it fits the images
        return recipe.crop if recipe.crop is None or cfg.crop else fitted_crop(recipe.crop, items)

    aug = Augment(crop=crop_for(source.train) or 0, scale=recipe.scale, flip=recipe.flip, jitter=recipe.jitter)
    train_set = SegmentationDataset(source.train, source.labels, info.input, aug if recipe.crop else None,
                                    repeat=_repeat(recipe, len(source.train)), seed=cfg.seed)
    val_items = source.val
    batch = recipe.batch_size if recipe.crop else 1
    if recipe.crop and cfg.batch_size is None and device.type == "cpu":
        batch = cpu_batch_size(batch, info.config.arch, info.config.backbone)
    per_epoch = batches_per_epoch(len(epoch_order(train_set, 0, cfg.seed, d)), batch)
    # --follow with no length and no time limit learns until it is stopped (keep learning)
    endless = cfg.follow and cfg.iterations is None and cfg.epochs is None and cfg.time_limit is None
    total = math.inf if endless else cfg.iterations or per_epoch * (cfg.epochs or 10)
    weights = median_frequency_weights(train_set).to(device) if cfg.class_weights else None
    optimizer = make_optimizer(param_groups(model, recipe, recipe.lr, pretrained), recipe)
    net = model
    if d.enabled:
        if device.type == "cuda":
            net = torch.nn.SyncBatchNorm.convert_sync_batchnorm(net)
        net = torch.nn.parallel.DistributedDataParallel(net, device_ids=[device.index] if device.type == "cuda"
                                                        else None)
    precision = training_precision(device, info.config.backbone) if recipe.amp else "float32"
    use_amp = precision == "float16"  # the gradient scaler is for float16 only; bfloat16 needs none
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    out = Path(cfg.out)
    iteration, best, best_epoch = 0, -1.0, -1
    best_val: str | None = None  # the fingerprint of the validation images `best` was scored on (None: unknown)
    if cfg.resume and sibling(out, "resume").is_file():
        state = load_trainer_state(sibling(out, "resume"), optimizer)
        model.load_state_dict(load_checkpoint(sibling(out, "last"))[0].state_dict())
        iteration, best = int(state["iteration"]), float(state["best_mean_iu"])
    start_iteration = iteration
    # The model a new best must beat, scored again whenever the validation pixels change: the kept best,
    # and for keep learning (--follow) from a start model, that model (the one in use) until one beats it.
    kept = out if iteration and out.is_file() else (Path(cfg.model) if cfg.follow and cfg.model else None)
    ignore = source.labels.ignore_index
    n = len(source.labels)
    if d.main:
        events.emit("started", run=out.stem, arch=info.config.arch, backbone=info.config.backbone, recipe=recipe.name,
                    device=device_name(device), world_size=d.world_size, train_images=len(source.train),
                    val_images=sum(it.part == WHOLE for it in val_items),
                    val_regions=sum(it.part == HELD_OUT for it in val_items),
                    total_iterations=None if endless else total,
                    start_iteration=start_iteration,
                    classes=list(source.labels.names), stage=stage + 1, stages=stages, encoder=note,
                    encoder_tensors_loaded=encoder_loaded, pretrained=pretrained, time_limit_s=cfg.time_limit,
                    source=source.description, aux_head=has_aux_head(model), batch_size=batch,
                    crop=aug.crop or None,
                    precision=precision)
    started = time.perf_counter()
    last_emit, seen = 0.0, 0
    notes, idle_epochs = SkipNotes(events, d), 0
    epoch, skip = divmod(iteration, per_epoch)  # a resumed run goes on inside the epoch where it stopped
    while iteration < total:
        train_set.epoch = epoch
        order = epoch_order(train_set, epoch, cfg.seed, d)[skip * batch :]
        skip, steps = 0, 0
        notes.new_epoch()
        trained_pixels = torch.zeros(n, dtype=torch.int64)  # what this epoch learned from, per class
        for images, masks, skipped in epoch_loader(train_set, order, batch, cfg.workers, device):
            if iteration >= total:
                break
            notes.note(skipped, epoch + 1)
            if _any_rank([too_small(images, batch)], d)[0]:  # every rank skips the step together
                continue
            steps += 1
            trained_pixels += torch.bincount(masks[masks < n].flatten(), minlength=n)
            images = normalise_batch(images, info.input, device)
            masks = masks.to(device, non_blocking=True)
            elapsed = (time.perf_counter() - started) / cfg.time_limit if cfg.time_limit else 0.0
            lr = set_lr(optimizer, recipe, iteration, total, elapsed)
            with autocast(device, precision):
                outputs = net(images)  # (logits, aux logits) from a network with an aux head
            loss = network_loss(outputs, masks, ignore, recipe.loss, weights, cfg.loss_sampling)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            iteration += 1
            seen += images.shape[0] * d.world_size
            now = time.perf_counter()
            # every rank takes part in both decisions each step, so all stop together
            out_of_time, stopping = _any_rank([cfg.time_limit is not None and now - started > cfg.time_limit,
                                               stop is not None and stop.is_set()], d)
            if stopping:
                raise StopRequested
            if out_of_time:
                total = iteration
            if d.main and (now - last_emit > 0.5 or iteration == total):
                rate = seen / (now - started)
                eta = None if endless else (total - iteration) * (now - started) / max(1, iteration - start_iteration)
                fraction = None if endless else iteration / total
                if cfg.time_limit:  # whichever ends the run first: the iterations or the clock
                    eta = min(eta, max(0.0, cfg.time_limit - (now - started)))
                    fraction = max(fraction, min(1.0, (now - started) / cfg.time_limit))
                events.emit("progress", iteration=iteration, epoch=epoch + 1, loss=float(loss.detach()), lr=lr,
                            images_per_s=rate, eta_s=eta, **({} if fraction is None else {"fraction": fraction}))
                last_emit = now
        epoch += 1
        # an epoch that could read nothing twice in a row (every file gone or broken) would loop forever
        idle_epochs = 0 if steps or not order else idle_epochs + 1
        if idle_epochs >= (2 if cfg.follow else 1):
            raise ValueError(f"none of the {len(train_set.items)} training images could be read; "
                             "check that their masks are still in the project")
        # eval mode must describe the weights as trained now, not running averages that lag them
        stats_order = epoch_order(train_set, epoch, cfg.seed, d)[: batch * batchnorm_batches(per_epoch)]
        recompute_batchnorm(model, (normalise_batch(images, info.input, device) for images, _, _ in
                                    epoch_loader(train_set, stats_order, batch, 0, device)
                                    if not too_small(images, batch)), d)
        val_print = fingerprint(val_items)  # before validation reads them: a later change shows as another
        val_skipped: list[tuple[Path, str]] = []
        hist, _ = validate(model, val_items, source, info.input, device, d, val_skipped)
        if val_skipped and d.main:
            events.emit("warning", epoch=epoch, skipped=[Path(p).name for p, _ in val_skipped],
                        message=f"left out of this validation: {'; '.join(r for _, r in val_skipped)}")
        measured = measure(val_items, hist)
        trained_pixels = D.all_reduce_sum(trained_pixels, d)
        scores = scores_from_histogram(hist)
        scored = bool(val_items) and math.isfinite(scores.mean_iu)
        # every rank decides alike (validation is summed; a mask saved between two ranks' reads counts)
        if _any_rank([scored and kept is not None and val_print != best_val], d)[0]:
            # The validation set changed (--follow, a resumed run, a corrected mask): a score on other
            # images says nothing, so the kept model is scored again on these before the two are compared.
            best = rescore(kept, val_items, source, device, d)
        best_val = val_print if scored else best_val
        # Unscored (no validation images yet): the newest model is the run's result until one is scored.
        is_best = scores.mean_iu > best if scored else best < 0
        new_best = max(best, scores.mean_iu) if scored else best
        if d.main:
            extra = {} if val_items else {"note": NO_VALIDATION}
            # best_mean_iu: the kept model's score on these same images, which this epoch's must beat
            events.emit("validation", iteration=iteration, epoch=epoch, train_images=len(train_set.items),
                        **measured, **scores.to_dict(source.labels.names), **extra,
                        best_mean_iu=best if best >= 0 else None,
                        trained_pixels=dict(zip(source.labels.names, trained_pixels.tolist(), strict=True)))
            metrics = ({**scores.to_dict(source.labels.names), **measured, "val_fingerprint": val_print}
                       if scored else {})
            info.provenance = new_provenance(
                f"trained ({recipe.name}) on {source.description}", trained_images=len(train_set.items),
                metrics={**metrics, "split": "project validation split" if scored else NO_VALIDATION},
                iterations=iteration, recipe=recipe.name, base=str(cfg.model) if cfg.model else note,
                encoder_tensors_loaded=encoder_loaded)
            info.config = model.config
            save_checkpoint(sibling(out, "last"), model, info)
            save_trainer_state(sibling(out, "resume"), optimizer, {"iteration": iteration, "epoch": epoch,
                                                                   "best_mean_iu": new_best})
            events.emit("checkpoint", path=str(sibling(out, "last")), iteration=iteration, epoch=epoch, best=is_best)
            if is_best:
                save_checkpoint(out, model, info)
                events.emit("checkpoint", path=str(out), iteration=iteration, epoch=epoch, best=True)
        if is_best:  # on every rank, so all of them know what the kept model scored
            best, best_epoch, kept = new_best, epoch, out if scored else kept
        D.barrier(d)
        if cfg.follow and iteration < total:
            source_now = _reread(cfg, source, events, d)
            while not source_now.train and endless and not d.enabled:
                # keep learning, and the person undid or cleared every label: ready again for the next
                _check_stop(stop, d)
                time.sleep(FOLLOW_POLL_S)
                source_now = _reread(cfg, source, events, d)
            if not source_now.train:
                raise ValueError(f"{source_now.description}: no labelled image is left to learn from; "
                                 "correct or review some, then start again")
            train_set.items, val_items = source_now.train, source_now.val
            if recipe.crop:
                train_set.aug = replace(aug, crop=crop_for(source_now.train))
            train_set.repeat = _repeat(recipe, len(source_now.train))
    finished = {"best_checkpoint": str(out), "best_mean_iu": best if best >= 0 else None, "best_epoch": best_epoch,
                "iterations": iteration, "seconds": time.perf_counter() - started, "stage": stage + 1}
    if d.main and stage + 1 == stages:
        events.emit("finished", **finished)
    return finished, model
