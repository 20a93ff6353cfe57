"""Batched augmentations run on the training device, so the GPU is never waiting on the CPU.

Chosen for ultrasound: the probe can sit left or right of the head (flips), the head turns in
the plane (rotation), gestational age and depth setting change its size (scale), the sonographer
centres it loosely (shift), and gain, dynamic range and speckle vary between machines (gamma,
contrast, noise). ``ScreenClutter`` adds what scanner screens put on and around the image (see
training/screens.py), and with it the zoom range widens to the head-filling crops that the
second pass (fetalview/core/model/twopass.py) shows the model. ``random_jpeg`` adds the 8x8 block
artefacts of the JPEG files that scanners export and PACS store.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.nn import functional as F

#: Scale range with screen augmentation: up to the second pass's crops, where a head and its
#: margin fill the grid.
SCREEN_SCALE_RANGE = (0.8, 2.0)

#: libjpeg's luminance quantisation table (ITU-T T.81, Annex K), scaled by the quality setting.
JPEG_LUMA_TABLE = torch.tensor([
    [16, 11, 10, 16, 24, 40, 51, 61], [12, 12, 14, 19, 26, 58, 60, 55],
    [14, 13, 16, 24, 40, 57, 69, 56], [14, 17, 22, 29, 51, 87, 80, 62],
    [18, 22, 37, 56, 68, 109, 103, 77], [24, 35, 55, 64, 81, 104, 113, 92],
    [49, 64, 78, 87, 103, 121, 120, 101], [72, 92, 95, 98, 112, 100, 103, 99]],
    dtype=torch.float32)
#: Share of training scans re-encoded, and the range of their JPEG quality (exports and PACS
#: compress at 75-95 typically; 30 covers the worst a forwarded or web-viewer copy gets).
JPEG_PROBABILITY = 0.5
JPEG_QUALITY_RANGE = (30, 95)
#: The scan's size over the grid's when it was compressed: the app letterboxes the JPEG's
#: pixels into the grid, so its 8x8 blocks reach the model shrunk (HC18's 800x540 scans: ~2;
#: a 1280x960 screen capture: ~3.75; a second-pass crop: ~1).
JPEG_SCAN_SCALE_RANGE = (1.0, 4.0)


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


def jpeg_compress(images: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
    """What baseline JPEG at ``quality`` (one per image, 1-100, libjpeg's scale) loses from
    grey images (N,1,H,W) in [0, 1], batched on their device: the 8-bit image in 8x8 blocks
    (edges replicated, as libjpeg pads), level-shifted, transformed (DCT), quantised by the
    luminance table and transformed back. The rest of a JPEG file's coding is lossless, and a
    grey scan's colour channels are empty, so this is the loss of a real file to within
    libjpeg's integer rounding."""
    n, _, h, w = images.shape
    dev = images.device
    q = quality.to(dev, torch.float32).view(n, 1, 1, 1, 1, 1)
    scale = torch.where(q < 50, 5000 / q, 200 - 2 * q)
    table = ((JPEG_LUMA_TABLE.to(dev) * scale + 50) / 100).floor().clamp(1, 255)
    x = F.pad((images * 255).round() - 128, (0, -w % 8, 0, -h % 8), mode="replicate")
    rows, cols = x.shape[2] // 8, x.shape[3] // 8
    blocks = x.view(n, 1, rows, 8, cols, 8).transpose(3, 4)
    k = torch.arange(8, dtype=torch.float32, device=dev)
    dct = torch.cos((2 * k + 1) * k[:, None] * math.pi / 16) * 0.5
    dct[0] /= math.sqrt(2)  # orthonormal DCT-II, the transform JPEG defines
    coeffs = (dct @ blocks @ dct.T / table).round() * table
    back = (dct.T @ coeffs @ dct).transpose(3, 4).reshape(n, 1, rows * 8, cols * 8)
    return (back[:, :, :h, :w] + 128).round().clamp(0, 255) / 255


def random_jpeg(images: torch.Tensor, generator: torch.Generator,
                probability: float = JPEG_PROBABILITY) -> torch.Tensor:
    """JPEG re-encoding of about ``probability`` of the images (N,1,H,W) in [0, 1], each at a
    random quality and at a random scan size (compressed at that size, then shrunk back to
    the grid as the app letterboxes a scan); the others are returned untouched."""
    n, _, h, w = images.shape
    dev = images.device

    def uniform(lo, hi):
        return torch.rand(n, generator=generator, device=dev) * (hi - lo) + lo

    chosen = torch.rand(n, generator=generator, device=dev) < probability
    quality = uniform(JPEG_QUALITY_RANGE[0], JPEG_QUALITY_RANGE[1] + 1).floor()
    scale = uniform(*JPEG_SCAN_SCALE_RANGE)
    out = images.clone()
    for i, s in zip(chosen.nonzero().flatten().tolist(), scale[chosen].tolist()):
        scan = F.interpolate(images[i:i + 1], size=(round(h * s), round(w * s)),
                             mode="bilinear", align_corners=False)
        out[i:i + 1] = F.interpolate(jpeg_compress(scan, quality[i:i + 1]), size=(h, w),
                                     mode="area")
    return out


class ScreenClutter:
    """Scanner-screen clutter on images (N,1,H,W) in [0, 1]: a sector mask (the fan's dark
    surroundings), burned-in text, caliper crosses with numbers, depth ticks and grey-scale
    bars stamped on, and a flat UI strip along one side (what an image area found a little too
    wide leaves). The targets stay: the head is where it was, under the clutter."""

    def __init__(self, device: torch.device, seed: int = 0):
        from .screens import clutter_stamps
        self.stamps = [torch.from_numpy(s.astype(np.float32) / 255.0).to(device)
                       for s in clutter_stamps(np.random.default_rng(seed))]

    def __call__(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        n, _, h, w = images.shape
        dev = images.device

        def rand(*shape):
            return torch.rand(*shape, generator=generator, device=dev)

        # sector: apex above the top edge, half-angle 30-50 degrees, on half the images
        ys = torch.arange(h, device=dev, dtype=torch.float32).view(1, 1, h, 1)
        xs = torch.arange(w, device=dev, dtype=torch.float32).view(1, 1, 1, w)
        apex_x = (0.3 + 0.4 * rand(n)).view(n, 1, 1, 1) * w
        apex_y = -(0.1 + 0.4 * rand(n)).view(n, 1, 1, 1) * h
        half = torch.deg2rad(30 + 20 * rand(n)).view(n, 1, 1, 1)
        angle = torch.atan2(xs - apex_x, ys - apex_y).abs()
        inside = (angle < half) | (rand(n) < 0.5).view(n, 1, 1, 1)
        x = images * inside
        for i in range(n):
            for _ in range(int(rand(1).item() * 5)):  # 0-4 stamps
                stamp = self.stamps[int(rand(1).item() * len(self.stamps))]
                sh, sw = min(stamp.shape[0], h), min(stamp.shape[1], w)
                y0, x0 = int(rand(1).item() * (h - sh + 1)), int(rand(1).item() * (w - sw + 1))
                level = 0.6 + 0.4 * rand(1)
                patch = x[i, 0, y0:y0 + sh, x0:x0 + sw]
                x[i, 0, y0:y0 + sh, x0:x0 + sw] = torch.maximum(patch, level * stamp[:sh, :sw])
            if rand(1).item() < 0.3:  # a flat UI strip, 2-8% of the side
                side, grey = int(rand(1).item() * 4), 0.1 + 0.25 * rand(1)
                k = int((0.02 + 0.06 * rand(1).item()) * (h if side < 2 else w))
                band = [x[i, 0, :k], x[i, 0, h - k:], x[i, 0, :, :k], x[i, 0, :, w - k:]][side]
                band[...] = grey
        return x


def augment(images: torch.Tensor, masks: torch.Tensor, generator: torch.Generator,
            screens: ScreenClutter | None = None,
            jpeg: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """The training augmentation (validation sees the scans as they are); with ``screens``,
    scanner-screen clutter and the second pass's zoom range too; with ``jpeg``, JPEG
    re-encoding last, as a scanner or PACS stores the finished image."""
    if screens is None:
        images, masks = random_affine(images, masks, generator)
        images = random_intensity(images, generator)
    else:
        images, masks = random_affine(images, masks, generator, scale_range=SCREEN_SCALE_RANGE)
        images = random_intensity(screens(images, generator), generator)
    return (random_jpeg(images, generator) if jpeg else images), masks
