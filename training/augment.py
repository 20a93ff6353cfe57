"""Batched augmentations run on the training device, so the GPU is never waiting on the CPU.

Chosen for ultrasound: the probe can sit left or right of the head (flips), the head turns in
the plane (rotation), gestational age and depth setting change its size (scale), the sonographer
centres it loosely (shift), and gain, dynamic range and speckle vary between machines (gamma,
contrast, noise).
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F


def random_affine(images: torch.Tensor, masks: torch.Tensor, generator: torch.Generator,
                  max_rotation_deg: float = 25.0, scale_range: tuple[float, float] = (0.8, 1.25),
                  max_shift: float = 0.1) -> tuple[torch.Tensor, torch.Tensor]:
    """Flip, rotate, scale and shift images (N,1,H,W) and their masks with one sampled warp."""
    n, _, h, w = images.shape
    dev = images.device

    def uniform(lo, hi):
        return torch.rand(n, generator=generator, device=dev) * (hi - lo) + lo

    angle = uniform(-max_rotation_deg, max_rotation_deg) * (math.pi / 180.0)
    scale = torch.exp(uniform(math.log(scale_range[0]), math.log(scale_range[1])))
    flip = torch.where(torch.rand(n, generator=generator, device=dev) < 0.5, -1.0, 1.0)
    tx, ty = uniform(-max_shift, max_shift) * 2, uniform(-max_shift, max_shift) * 2
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    aspect = w / h  # rotate in pixel space, not in the normalised [-1, 1] square
    theta = torch.stack([
        torch.stack([cos * flip, -sin * flip / aspect, tx], dim=1),
        torch.stack([sin * aspect, cos, ty], dim=1),
    ], dim=1)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    warped = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    warped_masks = F.grid_sample(masks, grid, mode="bilinear", padding_mode="zeros",
                                 align_corners=False)
    return warped, warped_masks


def random_intensity(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Gamma, contrast, brightness and multiplicative speckle-like noise on images in [0, 1]."""
    n = images.shape[0]
    dev = images.device

    def uniform(lo, hi):
        return (torch.rand(n, 1, 1, 1, generator=generator, device=dev) * (hi - lo) + lo)

    x = images.clamp(0, 1) ** torch.exp(uniform(-0.4, 0.4))
    x = x * uniform(0.75, 1.3) + uniform(-0.08, 0.08)
    noise = torch.randn(images.shape, generator=generator, device=dev) * uniform(0.0, 0.12)
    x = x * (1.0 + noise)
    return x.clamp(0, 1)


def augment(images: torch.Tensor, masks: torch.Tensor,
            generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    images, masks = random_affine(images, masks, generator)
    return random_intensity(images, generator), masks
