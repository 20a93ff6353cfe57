"""The training loop: resumable, seeded, on CUDA when present."""

from __future__ import annotations

import io
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from fetalview.core.model.network import ModelConfig, ResidualUNet
from fetalview.core.io.outputs import write_atomic
from fetalview.core.model.weights import load_model, save_weights

from .augment import ScreenClutter, augment
from .dataset import Cache, split_by_subject
from .loss import dice_bce_loss, dice_score

CHECKPOINT = "checkpoint.pt"
WEIGHTS = "weights.safetensors"


@dataclass(frozen=True)
class TrainPlan:
    """Everything that determines a training run; saved in the checkpoint and the model card."""

    cache: str
    epochs: int = 60
    batch_size: int = 16
    lr: float = 2e-3
    weight_decay: float = 1e-4
    base_width: int = 16
    depth: int = 5
    val_fraction: float = 0.2
    seed: int = 0
    time_budget_min: float = 0.0  # > 0: from epoch 2, cut ``epochs`` to fit this budget
    steps_per_epoch: int = 0  # > 0: this many batches per epoch instead of a full pass
    init_weights: str = ""  # fine-tune: start from these fetalview weights, not from scratch
    extra_cache: str = ""  # a cache of clinicians' corrections, added to training only
    extra_share: float = 0.25  # at least this share of training draws come from extra_cache
    folds: int = 0  # > 1: cross-validation by subject, fold ``fold`` validates
    fold: int = 0
    screens: bool = False  # augment with scanner-screen clutter and second-pass zoom
    jpeg: bool = False  # augment with JPEG re-encoding (off in plans written before it)

    def model_config(self, grid_shape: tuple[int, int]) -> ModelConfig:
        return ModelConfig(self.base_width, self.depth, *grid_shape)


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def learning_rate(plan: TrainPlan, progress: float, total_epochs: int) -> float:
    """Linear warm-up over the first epoch, then cosine decay to zero; ``progress`` in epochs."""
    if progress < 1.0:
        return plan.lr * max(progress, 0.02)
    t = (progress - 1.0) / max(total_epochs - 1.0, 1e-9)
    return plan.lr * 0.5 * (1.0 + math.cos(math.pi * min(t, 1.0)))


def _save_checkpoint(run_dir: Path, state: dict) -> None:
    """Serialized in memory, then written atomically: a kill mid-save leaves the previous
    checkpoint, and two runs in one folder never share a temporary file."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    write_atomic(run_dir / CHECKPOINT, buffer.getvalue())


def train(plan: TrainPlan, run_dir: Path, device: str = "auto", resume: bool = False,
          log=print) -> Path:
    """Train (or resume) into ``run_dir``; returns the path of the final safetensors weights."""
    run_dir.mkdir(parents=True, exist_ok=True)
    dev = pick_device(device)
    checkpoint = None
    if resume:
        ckpt_path = run_dir / CHECKPOINT
        if not ckpt_path.is_file():
            raise FileNotFoundError(f"--resume: no {CHECKPOINT} in {run_dir}")
        checkpoint = torch.load(ckpt_path, map_location="cpu", weights_only=True)
        plan = TrainPlan(**json.loads(checkpoint["plan"]))
        log(f"resuming {run_dir} at epoch {checkpoint['epoch']}/{checkpoint['total_epochs']}")

    torch.manual_seed(plan.seed)
    cache = Cache.load(Path(plan.cache))
    train_idx, val_idx = split_by_subject(list(cache.subjects), plan.val_fraction, plan.seed,
                                          plan.folds, plan.fold)
    grid_shape = cache.images.shape[1:]
    cache_images, cache_masks = cache.images, cache.masks
    if plan.extra_cache:
        cache_images, cache_masks, train_idx = _add_extra(plan, cache, train_idx)
    images = torch.from_numpy(cache_images).to(dev)  # uint8 on the device: 100 MB at most
    masks = torch.from_numpy(cache_masks).to(dev)

    model = ResidualUNet(plan.model_config(grid_shape)).to(dev)
    if plan.init_weights and checkpoint is None:
        start = load_model(Path(plan.init_weights))
        if start.config != model.config:
            raise ValueError(f"--init-weights {plan.init_weights} is a {start.config}, but the "
                             f"plan builds a {model.config}")
        model.load_state_dict(start.state_dict())
        log(f"starting from {plan.init_weights}")
    if dev.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    optimiser = torch.optim.AdamW(model.parameters(), lr=plan.lr, weight_decay=plan.weight_decay)
    generator = torch.Generator(device=dev).manual_seed(plan.seed)
    screens = ScreenClutter(dev, plan.seed) if plan.screens else None
    start_epoch, total_epochs, history = 0, plan.epochs, []
    if checkpoint is not None:
        model.load_state_dict(checkpoint["model"])
        optimiser.load_state_dict(checkpoint["optimiser"])
        generator.set_state(checkpoint["generator"].to(generator.get_state().device))
        start_epoch, total_epochs = checkpoint["epoch"], checkpoint["total_epochs"]
        history = json.loads(checkpoint["history"])

    def batch(idx: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        sel = torch.from_numpy(idx).to(dev)
        x = images[sel].unsqueeze(1).float().div_(255.0)
        y = masks[sel].unsqueeze(1).float().div_(255.0)
        return x, y

    autocast = torch.autocast(dev.type, dtype=torch.bfloat16, enabled=dev.type == "cuda")
    steps_per_epoch = plan.steps_per_epoch or max(1, len(train_idx) // plan.batch_size)
    log(f"training on {dev}: {len(train_idx)} scans, validating on {len(val_idx)} "
        f"(split by subject, seed {plan.seed}); grid {grid_shape}")
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True
    started = time.time()
    epoch, epoch_seconds = start_epoch, []
    while epoch < total_epochs:
        t0 = time.time()
        model.train()
        order = torch.randperm(len(train_idx), generator=generator, device=dev).cpu().numpy()
        order = np.resize(order, steps_per_epoch * plan.batch_size)  # wraps when steps are set
        losses = []
        bar = tqdm(range(steps_per_epoch), desc=f"epoch {epoch + 1}/{total_epochs}",
                   unit="batch", leave=False, mininterval=2.0)
        for step in bar:
            lr = learning_rate(plan, epoch + step / steps_per_epoch, total_epochs)
            for group in optimiser.param_groups:
                group["lr"] = lr
            x, y = batch(train_idx[order[step * plan.batch_size:(step + 1) * plan.batch_size]])
            x, y = augment(x, y, generator, screens, plan.jpeg)
            if dev.type == "cuda":
                x = x.contiguous(memory_format=torch.channels_last)
            with autocast:
                loss = dice_bce_loss(model(x), y)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
            bar.set_postfix(loss=f"{np.mean(losses[-20:]):.4f}", lr=f"{lr:.2e}")
        epoch += 1
        val_dice = validate(model, batch, val_idx, autocast, plan.batch_size)
        seconds = time.time() - t0
        epoch_seconds.append(seconds)
        if epoch >= min(2, total_epochs) and plan.time_budget_min > 0 and checkpoint is None:
            # From epoch 2, the first one free of start-up costs (allocator, kernel autotuning),
            # at every epoch: runs that share one GPU slow each other down as they start and
            # speed up as they end. The median of the last three ignores one slow epoch; the
            # count only ever falls, so the learning-rate schedule stays a decay.
            left = plan.time_budget_min * 60 - (time.time() - started)
            recent = epoch_seconds[1:][-3:] or epoch_seconds
            fit = epoch + max(0, int(left / float(np.median(recent))))
            if fit < total_epochs:
                log(f"time budget {plan.time_budget_min} min: {total_epochs} -> {fit} epochs")
                total_epochs = fit
        history.append({"epoch": epoch, "loss": float(np.mean(losses)),
                        "val_dice_grid": val_dice, "seconds": round(seconds, 1)})
        log(f"epoch {epoch}/{total_epochs}  loss {np.mean(losses):.4f}  "
            f"val Dice (model grid) {val_dice:.4f}  {seconds:.0f}s  "
            f"ETA {seconds * (total_epochs - epoch) / 60:.1f} min")
        _save_checkpoint(run_dir, {
            "plan": json.dumps(asdict(plan)), "epoch": epoch, "total_epochs": total_epochs,
            "model": model.state_dict(), "optimiser": optimiser.state_dict(),
            "generator": generator.get_state(), "history": json.dumps(history)})
    out = run_dir / WEIGHTS
    save_weights(model.to(memory_format=torch.contiguous_format),
                 out, {"epochs": str(total_epochs), "plan": json.dumps(asdict(plan))})
    write_atomic(run_dir / "history.json", json.dumps(history, indent=1).encode())
    return out


def _add_extra(plan: TrainPlan, cache: Cache,
               train_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Images, masks and training indices with the corrections appended, repeated until they
    make up ``extra_share`` of the training draws. They never enter validation, so the figures
    stay comparable with the weights before fine-tuning."""
    extra = Cache.load(Path(plan.extra_cache))
    if extra.images.shape[1:] != cache.images.shape[1:]:
        raise ValueError(f"{plan.extra_cache} has grid {extra.images.shape[1:]}, "
                         f"the training cache {cache.images.shape[1:]}")
    extra_idx = len(cache.images) + np.arange(len(extra.images))
    repeat = max(1, math.ceil(plan.extra_share * len(train_idx) /
                              ((1.0 - plan.extra_share) * len(extra_idx))))
    return (np.concatenate([cache.images, extra.images]),
            np.concatenate([cache.masks, extra.masks]),
            np.concatenate([train_idx] + [extra_idx] * repeat))


@torch.no_grad()
def validate(model, batch, val_idx, autocast, batch_size) -> float:
    """Mean hard Dice on the validation scans at model resolution (a quick training signal; the
    real figures come from ``evaluate``, at scan resolution through the app's code)."""
    model.eval()
    scores = []
    for i in range(0, len(val_idx), batch_size):
        x, y = batch(val_idx[i:i + batch_size])
        with autocast:
            scores.append(dice_score(model(x).float(), y).cpu())
    return float(torch.cat(scores).mean()) if scores else float("nan")
