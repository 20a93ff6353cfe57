"""Dice + binary cross-entropy on soft targets."""

from __future__ import annotations

import torch
from torch.nn import functional as F


def dice_bce_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy gets every pixel right; soft Dice keeps the small heads of early pregnancy
    from being drowned out by the background."""
    logits = logits.float()
    bce = F.binary_cross_entropy_with_logits(logits, targets)
    probs = torch.sigmoid(logits)
    dims = (1, 2, 3)
    inter = (probs * targets).sum(dims)
    dice = (2 * inter + 1.0) / (probs.sum(dims) + targets.sum(dims) + 1.0)
    return bce + (1.0 - dice).mean()


def dice_score(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Hard Dice per image (targets thresholded at 0.5)."""
    pred = logits > 0
    truth = targets > 0.5
    inter = (pred & truth).sum((1, 2, 3)).float()
    total = pred.sum((1, 2, 3)).float() + truth.sum((1, 2, 3)).float()
    return torch.where(total > 0, 2 * inter / total.clamp(min=1), torch.ones_like(total))
