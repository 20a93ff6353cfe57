"""The segmenter: scan pixels in, head region, ellipse and confidence out.

Built to be created and called from a worker thread: the constructor does the slow part (load
the model, pick the runtime) once; ``segment`` is then safe to call repeatedly from that thread.

Which runtime runs the network (a *backend*: a batch of letterboxed grids in, logits out):
OpenVINO on the CPU (``openvino_backend``), the default and the only one the app needs; PyTorch
(``torch_backend``) for CUDA, used automatically when torch is installed and sees a usable GPU,
and on the CPU only when asked for (``backend="torch"``) or for weights that have no ONNX graph.
"""

from __future__ import annotations

import importlib.util
import logging
import shutil
from pathlib import Path
from typing import Protocol

import numpy as np

from fetalview.bundled import default_weights
from fetalview.core.model.imagearea import image_area
from fetalview.core.io.scans import to_gray_uint8
from fetalview.core.model.card import WeightsError, check_against_card, model_version, sha256_of
from fetalview.core.measure.pixelsize import CalibratedRegion, PixelSize
from fetalview.core.model.postprocess import head_region
from fetalview.core.model.preprocess import Letterbox, has_contrast, normalise
from fetalview.core.model.segmentation import Segmentation
from fetalview.core.model.twopass import scan_logits

log = logging.getLogger(__name__)

BACKENDS = ("auto", "openvino", "torch")
DEVICES = ("auto", "cpu", "cuda")


class Backend(Protocol):
    label: str  # device and runtime in words, e.g. "CPU with OpenVINO 2026.4.1"
    device: str  # "cpu" or "cuda"
    grid_shape: tuple[int, int]

    def run(self, batch: np.ndarray) -> np.ndarray:
        """(N, 1, H, W) float32 letterboxed grids -> (N, 1, H, W) float32 logits."""


def torch_installed() -> bool:
    return importlib.util.find_spec("torch") is not None


def cuda_usable() -> bool:
    """Whether torch is installed and sees a usable CUDA device.

    Importing torch takes more than a second, so it is imported only on a machine with an
    NVIDIA driver: a CPU-only machine with torch installed starts as fast as one without.
    """
    if not torch_installed():
        return False
    if not (Path("/proc/driver/nvidia/version").exists() or shutil.which("nvidia-smi")):
        return False
    import torch
    return torch.cuda.is_available()


class Segmenter:
    """Loads the Residual UNet once and segments scans with it.

    Args:
        weights: a fetalview model file, ``.onnx`` or ``.safetensors``; each backend uses the
            one of the pair (same name, other suffix) it runs. Default: the bundled model,
            checked against its model card.
        device: "auto" (CUDA when torch sees a usable GPU, else the CPU), "cpu" or "cuda". If
            CUDA fails at load or at run time the segmenter moves to the CPU and records why
            in ``fallback_reason``.
        tta: average the logits of the scan and its mirror image. Off by default: on the
            validation split it left Dice and mean HC error unchanged (0.978, 1.80 vs 1.85 mm)
            and only narrowed the tail (95th percentile 4.7 vs 5.3 mm) at 1.8 times the
            forward time.
        backend: "auto" (OpenVINO on the CPU, PyTorch on CUDA), "openvino" or "torch".
        threads: the runtime's CPU threads; None: the runtime's default.
        passes: 1 (default) segments the image area once; 2 locates the head, then segments a
            crop around it (twopass.py). With the bundled weights, trained on whole scans only,
            two passes lost on validation (mean HC error 2.06 against 1.83 mm, 3 scans more
            than 10 mm off against 1), so they wait for weights trained on such crops.
    """

    def __init__(self, weights: Path | None = None, device: str = "auto", tta: bool = False,
                 backend: str = "auto", threads: int | None = None, passes: int = 1):
        if device not in DEVICES or backend not in BACKENDS:
            raise ValueError(f"unknown device {device!r} or backend {backend!r}")
        if device == "cuda" and backend == "openvino":
            raise ValueError("fetalview runs OpenVINO on the CPU only; CUDA runs on PyTorch")
        # The bundled files must be the ones their model card validated; a user's own files
        # (training runs, fine-tunes, exports in progress) have no card to answer to.
        self._bundled = weights is None
        self._path = Path(weights) if weights is not None else default_weights()
        self._threads = threads
        self.tta = tta
        self.passes = passes
        self.fallback_reason: str | None = None
        if device == "auto":
            device = "cuda" if backend != "openvino" and cuda_usable() else "cpu"
        elif device == "cuda" and not cuda_usable():
            raise RuntimeError("CUDA was asked for but no usable CUDA device is available"
                               + ("" if torch_installed() else " (fetalview runs CUDA on "
                                  "PyTorch, which is not installed)"))
        if device == "cuda":
            try:
                self._load("torch", "cuda")
            except RuntimeError as exc:  # CUDA out of memory, driver trouble
                self._fall_back_to_cpu(exc)
        else:
            self._load(backend, "cpu")
        self.grid_shape = self.backend.grid_shape

    @property
    def device_label(self) -> str:
        """Where and on what the network runs, e.g. "CPU with OpenVINO 2026.4.1"."""
        return self.backend.label

    @property
    def onnx_path(self) -> Path | None:
        """The graph OpenVINO runs: the file given, or the one beside the weights."""
        if self._path.suffix == ".onnx":
            return self._path
        return self._path.with_suffix(".onnx") if self._path.suffix == ".safetensors" else None

    @property
    def safetensors_path(self) -> Path:
        """The weights PyTorch runs: the file given, or the ones beside the graph."""
        return self._path.with_suffix(".safetensors") if self._path.suffix == ".onnx" else self._path

    def _load(self, backend: str, device: str) -> None:
        """Open the model on ``device``; on the CPU, OpenVINO unless torch is asked for or
        a user's own weights have no ONNX graph beside them (then torch, if installed)."""
        onnx_path = self.onnx_path
        has_graph = onnx_path is not None and onnx_path.exists()
        if device == "cpu" and backend == "auto" and not self._bundled and not has_graph \
                and torch_installed():
            backend = "torch"
        if device == "cuda" or backend == "torch":
            if not torch_installed():
                raise RuntimeError('the PyTorch backend needs torch: pip install -e ".[train]"')
            from fetalview.core.model.torch_backend import TorchBackend
            path = self.safetensors_path
            digest = check_against_card(path) if self._bundled else None
            self.backend = TorchBackend(path, device, self._threads)
            digest = digest or sha256_of(path)
        else:
            from fetalview.core.model.openvino_backend import OpenVinoBackend
            path = onnx_path
            if self._bundled:
                check_against_card(path)
            elif not has_graph and path != self._path:
                raise WeightsError(f"{self._path.name} has no ONNX graph beside it; write one "
                                   f"with: python -m training onnx {self._path}")
            self.backend = OpenVinoBackend(path, self._threads)
            digest = self.backend.weights_sha256  # the weights it was exported from
        self.weights = path
        # Both runtimes name the same weights alike: sidecars and cards stay comparable.
        self.model_version = model_version(path, digest)

    def _fall_back_to_cpu(self, exc: Exception) -> None:
        self.fallback_reason = f"CUDA failed ({str(exc).splitlines()[0]}); using the CPU"
        log.warning(self.fallback_reason)
        self._load("auto", "cpu")

    def _run(self, batch: np.ndarray) -> np.ndarray:
        if self.tta:  # the mirror image rides in the same batch: one pass, better threading
            both = self.backend.run(np.concatenate([batch, batch[..., ::-1]]))
            return 0.5 * (both[:1] + both[1:, ..., ::-1])
        return self.backend.run(batch)

    def prepare(self, pixels: np.ndarray) -> tuple[Letterbox, np.ndarray]:
        """Any 2-D scan array (8/16-bit, grayscale, RGB or RGBA), converted as the file loader
        would, letterboxed into the model's (1, 1, H, W) float32 input batch."""
        pixels = to_gray_uint8(pixels)
        box = Letterbox(pixels.shape, self.grid_shape)
        return box, normalise(box.to_grid(pixels))[None, None]

    def forward(self, batch: np.ndarray) -> np.ndarray:
        """Logits on the model grid; a CUDA failure moves the model to the CPU and retries."""
        try:
            out = self._run(batch)
        except RuntimeError as exc:
            if self.backend.device != "cuda":
                raise
            self._fall_back_to_cpu(exc)
            out = self._run(batch)
        return np.ascontiguousarray(out[0, 0], np.float32)

    def grid_logits(self, grid_image: np.ndarray) -> np.ndarray:
        """Logits of one uint8 image already letterboxed into the model grid."""
        return self.forward(normalise(grid_image)[None, None])

    def logits(self, pixels: np.ndarray,
               regions: tuple[CalibratedRegion, ...] = ()) -> np.ndarray:
        """Scan-sized float32 logit map, positive inside the head, computed inside the image
        area (the DICOM ``regions``' rectangle, else the one found in the pixels)."""
        pixels = to_gray_uint8(pixels)
        return scan_logits(self.grid_logits, pixels, image_area(pixels, regions),
                           self.grid_shape, self.passes)

    def segment(self, pixels: np.ndarray, pixel_size: PixelSize | None = None,
                regions: tuple[CalibratedRegion, ...] = ()) -> Segmentation:
        """The head in ``pixels``; give ``pixel_size`` when known so the review flag can weigh
        the HC uncertainty in millimetres, and a DICOM's calibrated ``regions`` so that the
        model looks inside the ultrasound image the file names. A scan without contrast has no
        head (``no_head``): the model is not asked to find one in noise."""
        pixels = to_gray_uint8(pixels)
        region = head_region(self.logits(pixels, regions)) if has_contrast(pixels) else None
        if region is None:
            return Segmentation(None, None, None, 0.0, self.model_version)
        return Segmentation(region.mask, region.outline, region.ellipse,
                            region.shape_agreement * region.mass_share, self.model_version,
                            region.unsure_band_px, pixel_size)
