"""The segmenter: scan pixels in, head region, ellipse and confidence out.

Built to be created and called from a worker thread: the constructor does the slow part (load
weights, move to the device) once; ``segment`` is then safe to call repeatedly from that thread.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from ..bundled import default_weights
from .imageio import to_gray_uint8
from .pixelsize import PixelSize
from .postprocess import head_region
from .preprocess import Letterbox, normalise
from .segmentation import Segmentation
from .weights import check_against_card, load_model, sha256_of

log = logging.getLogger(__name__)

def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` -> CUDA when usable, else CPU; an explicit ``cuda`` without CUDA is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("CUDA was asked for but no usable CUDA device is available")
    return torch.device(name)


def device_label(device: torch.device) -> str:
    if device.type == "cuda":
        return f"CUDA ({torch.cuda.get_device_name(device)})"
    return "CPU"


class Segmenter:
    """Loads the Residual UNet once and segments scans with it.

    Args:
        weights: a fetalview safetensors file; default the bundled one.
        device: "auto", "cpu" or "cuda". If CUDA fails at load or at run time the segmenter
            moves to the CPU and records why in ``fallback_reason``.
        tta: average the logits of the scan and its mirror image. Off by default: on the
            validation split it left Dice and mean HC error unchanged (0.978, 1.80 vs 1.85 mm)
            and only narrowed the tail (95th percentile 4.7 vs 5.3 mm) at 1.8 times the
            forward time, which would put a CPU measurement over 0.15 s.
    """

    def __init__(self, weights: Path | None = None, device: str = "auto", tta: bool = False):
        self.weights = Path(weights) if weights is not None else default_weights()
        # The bundled weights must be the ones their model card validated; a user's own file
        # (training runs, fine-tunes, exports in progress) has no card to answer to.
        digest = sha256_of(self.weights) if weights is not None else check_against_card(self.weights)
        self.tta = tta
        self.fallback_reason: str | None = None
        self.device = resolve_device(device)
        try:
            self._load_model()
        except RuntimeError as exc:  # CUDA out of memory, driver trouble
            if self.device.type != "cuda":
                raise
            self._fall_back_to_cpu(exc)
        config = self.model.config
        self.grid_shape = (config.input_height, config.input_width)
        self.model_version = f"{self.weights.stem}-{digest[:12]}"

    @property
    def device_label(self) -> str:
        return device_label(self.device)

    def _fall_back_to_cpu(self, exc: Exception) -> None:
        self.fallback_reason = f"CUDA failed ({str(exc).splitlines()[0]}); using the CPU"
        log.warning(self.fallback_reason)
        self.device = torch.device("cpu")
        self._load_model()

    def _load_model(self) -> None:
        # channels-last lets oneDNN pick its fastest convolutions: about a third off on the CPU
        model = load_model(self.weights, self.device)
        self.model = model.to(memory_format=torch.channels_last)

    @torch.inference_mode()
    def _forward(self, batch: torch.Tensor) -> torch.Tensor:
        x = batch.to(self.device).contiguous(memory_format=torch.channels_last)
        if self.tta:  # the mirror image rides in the same batch: one pass, better threading
            both = self.model(torch.cat([x, torch.flip(x, dims=[-1])]))
            return (0.5 * (both[:1] + torch.flip(both[1:], dims=[-1]))).float().cpu()
        return self.model(x).float().cpu()

    def prepare(self, pixels: np.ndarray) -> tuple[Letterbox, torch.Tensor]:
        """Any 2-D scan array (8/16-bit, grayscale, RGB or RGBA), converted as the file loader
        would, letterboxed into the model's input batch."""
        pixels = to_gray_uint8(pixels)
        box = Letterbox(pixels.shape, self.grid_shape)
        return box, torch.from_numpy(normalise(box.to_grid(pixels)))[None, None]

    def forward(self, batch: torch.Tensor) -> np.ndarray:
        """Logits on the model grid; a CUDA failure moves the model to the CPU and retries."""
        try:
            out = self._forward(batch)
        except RuntimeError as exc:
            if self.device.type != "cuda":
                raise
            self._fall_back_to_cpu(exc)
            out = self._forward(batch)
        return out[0, 0].numpy()

    def logits(self, pixels: np.ndarray) -> np.ndarray:
        """Scan-sized float32 logit map, positive inside the head."""
        box, batch = self.prepare(pixels)
        return box.to_scan(self.forward(batch))

    def segment(self, pixels: np.ndarray, pixel_size: PixelSize | None = None) -> Segmentation:
        """The head in ``pixels``; give ``pixel_size`` when known so the review flag can weigh
        the HC uncertainty in millimetres."""
        region = head_region(self.logits(pixels))
        if region is None:
            return Segmentation(None, None, None, 0.0, self.model_version)
        return Segmentation(region.mask, region.outline, region.ellipse,
                            region.shape_agreement * region.mass_share, self.model_version,
                            region.unsure_band_px, pixel_size)
