"""The network on PyTorch: CUDA, and the reference the ONNX graph is checked against.

Needs torch (``pip install -e ".[train]"``); the app and the batch command import this module
only when CUDA is asked for or usable, or the torch backend is named explicitly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from fetalview.core.model.weights import load_model


class TorchBackend:
    """Runs the safetensors weights: a batch of letterboxed grids in, logits out.

    Args:
        path: a fetalview safetensors file.
        device: "cpu" or "cuda" (the segmenter checks that CUDA is usable first).
        threads: torch's intra-op threads (process-wide); None: torch's default.
    """

    def __init__(self, path: Path, device: str, threads: int | None = None):
        if threads:
            torch.set_num_threads(threads)
        self.device = device
        # channels-last lets oneDNN pick its fastest convolutions: about a third off on the CPU
        self.model = load_model(Path(path), device).to(memory_format=torch.channels_last)
        config = self.model.config
        self.grid_shape = (config.input_height, config.input_width)
        where = f"CUDA ({torch.cuda.get_device_name()})" if device == "cuda" else "CPU"
        self.label = f"{where} with PyTorch {torch.__version__.split('+')[0]}"

    @torch.inference_mode()
    def run(self, batch: np.ndarray) -> np.ndarray:
        """(N, 1, H, W) float32 grids in [0, 1] -> (N, 1, H, W) float32 logits."""
        x = torch.from_numpy(np.ascontiguousarray(batch, np.float32)).to(self.device)
        return self.model(x.contiguous(memory_format=torch.channels_last)).float().cpu().numpy()
