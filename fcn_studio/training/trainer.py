"""The training loop, one process or DDP. It streams events, validates each epoch with the paper's
metrics (one histogram, summed over ranks), writes checkpoints in our format each epoch (atomic, the
best by validation mean IU kept), and resumes from the last one."""

from __future__ import annotations

import math
import time
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, DistributedSampler, RandomSampler

from fcn_studio.core.metrics import confusion_histogram, scores_from_histogram
from fcn_studio.inference.device import device_name, pick_device
from fcn_studio.model.checkpoint import CheckpointInfo, load_checkpoint, new_provenance, save_checkpoint
from fcn_studio.model.factory import new_model
from fcn_studio.model.fcn import FCN
from fcn_studio.model.input_spec import normalise_batch
from fcn_studio.training import distributed as D
from fcn_studio.training.config import TrainConfig
from fcn_studio.training.data import Augment, DataSource, SegmentationDataset, open_source
from fcn_studio.training.events import EventWriter
from fcn_studio.training.losses import median_frequency_weights, segmentation_loss
from fcn_studio.training.recipes import Recipe, get_recipe
from fcn_studio.training.state_io import load_trainer_state, save_trainer_state

MIN_EPOCH_SAMPLES = 64  # tiny projects: an "epoch" repeats the images so a checkpoint is worth writing


def sibling(out: Path, kind: str) -> Path:
    return out.with_name(f"{out.stem}.{kind}.safetensors")


def build_model(cfg: TrainConfig, source: DataSource, recipe: Recipe, arch: str) -> tuple[FCN, CheckpointInfo, str]:
    if cfg.model is not None:
        model, info = load_checkpoint(cfg.model)
        if len(info.labels) != len(source.labels):
            raise ValueError(f"{cfg.model} has {len(info.labels)} classes but the training data has "
                             f"{len(source.labels)} ({', '.join(source.labels.names)})")
        info.labels = source.labels  # names and colours from the data; the indices agree
        return model.train(), info, f"from {cfg.model}"
    extra = {"pool4_scale": 0.01, "pool3_scale": 1e-4} if recipe.at_once else {}
    model, info, note = new_model(arch, cfg.backbone, source.labels, weights=cfg.weights, **extra)
    return model.train(), info, note


def param_groups(model: FCN, recipe: Recipe, lr: float, pretrained: bool) -> list[dict]:
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
def validate(model: FCN, dataset: SegmentationDataset, device: torch.device, d: D.Dist) -> np.ndarray:
    """One confusion histogram over the whole validation set (each rank its share, then summed)."""
    was_training = model.training
    model.eval()
    n = len(dataset.labels)
    hist = torch.zeros(n * n, dtype=torch.int64)
    for index in range(d.rank, len(dataset.items), d.world_size):
        image, mask = dataset[index]
        logits = model(normalise_batch(image[None], dataset.spec, device))
        pred = logits.argmax(1)[0].to(torch.uint8).cpu().numpy()
        hist += torch.from_numpy(confusion_histogram(mask.numpy(), pred, n).ravel())
    model.train(was_training)
    return D.all_reduce_sum(hist, d).numpy().reshape(n, n)


def _any_rank(flag: bool, d: D.Dist) -> bool:
    if not d.enabled:
        return flag
    t = torch.tensor([1 if flag else 0])
    torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
    return bool(t.item())


def run(cfg: TrainConfig, events: EventWriter) -> dict:
    """Trains as configured; returns the `finished` event. Raises on failure (the caller reports it)."""
    base_recipe = get_recipe(cfg.recipe)
    recipe = replace(base_recipe, **{k: v for k, v in (("batch_size", cfg.batch_size), ("lr", cfg.lr),
                                                       ("crop", cfg.crop)) if v is not None})
    stages = list(recipe.stages) if (recipe.stages and cfg.model is None) else [(cfg.arch, recipe.lr)]
    if recipe.stages and cfg.model is None and cfg.arch != "fcn8s":  # staged up to the asked architecture
        stages = stages[: [a for a, _ in stages].index(cfg.arch) + 1]
    requested = pick_device(cfg.device)
    d = D.setup(requested)
    device = D.local_device(requested, d)
    torch.manual_seed(cfg.seed + d.rank)
    try:
        result = None
        previous: FCN | None = None
        for stage_index, (arch, lr) in enumerate(stages):
            stage_cfg = replace(cfg, arch=arch, lr=cfg.lr if cfg.lr is not None else lr)
            if previous is not None:  # staged training: the next head starts from the last one's weights
                stage_cfg = replace(stage_cfg, model=None, weights=None)
            result, previous = _run_stage(stage_cfg, replace(recipe, lr=stage_cfg.lr), events, device, d, previous,
                                          stage_index, len(stages))
        return result
    finally:
        D.teardown(d)


def _run_stage(cfg: TrainConfig, recipe: Recipe, events: EventWriter, device: torch.device, d: D.Dist,
               previous: FCN | None, stage: int, stages: int):
    source = open_source(cfg.source, cfg.val_fraction)
    if not source.train:
        raise ValueError(f"{source.description}: no labelled image to learn from; correct or review some first")
    model, info, note = build_model(cfg, source, recipe, cfg.arch)
    if previous is not None:
        own = model.state_dict()
        model.load_state_dict({k: v for k, v in previous.state_dict().items()
                               if k in own and own[k].shape == v.shape}, strict=False)
    pretrained = cfg.model is not None or (cfg.weights is not None and "loaded" in note)
    model = model.to(device).to(memory_format=torch.channels_last)
    aug = Augment(crop=recipe.crop or 0, scale=recipe.scale, flip=recipe.flip, jitter=recipe.jitter)
    repeat = max(1, math.ceil(MIN_EPOCH_SAMPLES / len(source.train))) if recipe.crop else 1
    train_set = SegmentationDataset(source.train, source.labels, info.input, aug if recipe.crop else None,
                                    repeat=repeat, seed=cfg.seed)
    val_set = SegmentationDataset(source.val, source.labels, info.input, None)
    batch = recipe.batch_size if recipe.crop else 1
    sampler = (DistributedSampler(train_set, d.world_size, d.rank, shuffle=True, seed=cfg.seed) if d.enabled
               else RandomSampler(train_set, generator=torch.Generator().manual_seed(cfg.seed)))
    loader = DataLoader(train_set, batch_size=batch, sampler=sampler, num_workers=cfg.workers, drop_last=False,
                        pin_memory=device.type == "cuda", persistent_workers=cfg.workers > 0)
    per_epoch = len(loader)
    total = cfg.iterations or per_epoch * (cfg.epochs or 10)
    weights = median_frequency_weights(train_set).to(device) if cfg.class_weights else None
    optimizer = make_optimizer(param_groups(model, recipe, recipe.lr, pretrained), recipe)
    net = model
    if d.enabled:
        if device.type == "cuda":
            net = torch.nn.SyncBatchNorm.convert_sync_batchnorm(net)
        net = torch.nn.parallel.DistributedDataParallel(net, device_ids=[device.index] if device.type == "cuda"
                                                        else None)
    use_amp = recipe.amp and device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    out = Path(cfg.out)
    iteration, best, best_epoch = 0, -1.0, -1
    if cfg.resume and sibling(out, "resume").is_file():
        state = load_trainer_state(sibling(out, "resume"), optimizer)
        model.load_state_dict(load_checkpoint(sibling(out, "last"))[0].state_dict())
        iteration, best = int(state["iteration"]), float(state["best_mean_iu"])
    start_iteration = iteration
    if d.main:
        events.emit("started", run=out.stem, arch=cfg.arch, backbone=info.config.backbone, recipe=recipe.name,
                    device=device_name(device), world_size=d.world_size, train_images=len(source.train),
                    val_images=len(source.val), total_iterations=total, start_iteration=start_iteration,
                    classes=list(source.labels.names), stage=stage + 1, stages=stages, encoder=note,
                    source=source.description)
    started = time.perf_counter()
    last_emit, seen = 0.0, 0
    epoch = iteration // per_epoch
    while iteration < total:
        if isinstance(sampler, DistributedSampler):
            sampler.set_epoch(epoch)
        train_set.epoch = epoch
        for images, masks in loader:
            if iteration >= total:
                break
            images = normalise_batch(images, info.input, device)
            masks = masks.to(device, non_blocking=True)
            elapsed = (time.perf_counter() - started) / cfg.time_limit if cfg.time_limit else 0.0
            lr = set_lr(optimizer, recipe, iteration, total, elapsed)
            with torch.autocast(device.type, dtype=torch.float16) if use_amp else nullcontext():
                logits = net(images)
            loss = segmentation_loss(logits.float(), masks, recipe.loss, weights, cfg.loss_sampling)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            iteration += 1
            seen += images.shape[0] * d.world_size
            now = time.perf_counter()
            if cfg.time_limit is not None and _any_rank(now - started > cfg.time_limit, d):
                total = iteration  # every rank takes part in the decision each step, so all stop together
            if d.main and (now - last_emit > 0.5 or iteration == total):
                rate = seen / (now - started)
                eta = (total - iteration) * (now - started) / max(1, iteration - start_iteration)
                fraction = iteration / total
                if cfg.time_limit:  # whichever ends the run first: the iterations or the clock
                    eta = min(eta, max(0.0, cfg.time_limit - (now - started)))
                    fraction = max(fraction, min(1.0, (now - started) / cfg.time_limit))
                events.emit("progress", iteration=iteration, epoch=epoch + 1, loss=float(loss.detach()), lr=lr,
                            images_per_s=rate, eta_s=eta, fraction=fraction)
                last_emit = now
        epoch += 1
        hist = validate(model, val_set, device, d)
        scores = scores_from_histogram(hist)
        mean_iu = scores.mean_iu if math.isfinite(scores.mean_iu) else 0.0
        if d.main:
            events.emit("validation", iteration=iteration, epoch=epoch, train_images=len(train_set.items),
                        val_images=len(val_set.items), **scores.to_dict(source.labels.names))
            is_best = mean_iu > best
            info.provenance = new_provenance(
                f"trained ({recipe.name}) on {source.description}", trained_images=len(source.train),
                metrics={**scores.to_dict(source.labels.names), "split": "project validation split"},
                iterations=iteration, recipe=recipe.name, base=str(cfg.model) if cfg.model else note)
            info.config = model.config
            save_checkpoint(sibling(out, "last"), model, info)
            save_trainer_state(sibling(out, "resume"), optimizer, {"iteration": iteration, "epoch": epoch,
                                                                   "best_mean_iu": max(best, mean_iu)})
            events.emit("checkpoint", path=str(sibling(out, "last")), iteration=iteration, epoch=epoch, best=is_best)
            if is_best:
                best, best_epoch = mean_iu, epoch
                save_checkpoint(out, model, info)
                events.emit("checkpoint", path=str(out), iteration=iteration, epoch=epoch, best=True)
        D.barrier(d)
        if cfg.follow and iteration < total:
            source_now = open_source(cfg.source, cfg.val_fraction)
            train_set.items = source_now.train
            val_set.items = source_now.val
    finished = {"best_checkpoint": str(out), "best_mean_iu": best, "best_epoch": best_epoch,
                "iterations": iteration, "seconds": time.perf_counter() - started, "stage": stage + 1}
    if d.main and stage + 1 == stages:
        events.emit("finished", **finished)
    return finished, model
