"""The network on ONNX Runtime: how the app and the batch command run the model on the CPU.

The app only ever runs a fixed forward pass, so it needs no autograd and no PyTorch: ONNX
Runtime runs the bundled graph in about half of PyTorch's CPU time, imports in a tenth of a
second instead of more than one, and is a tenth of torch's size (benchmarks/README.md). The
graph is exported from the safetensors weights by ``python -m training export`` and agrees
with them within 0.01 mm of HC per validation scan (resources/weights/MODEL_CARD.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime

from .modelcard import WeightsError

#: Written into the graph's metadata by the exporter, with "config" (the network's
#: ModelConfig as JSON) and "weights_sha256" (the safetensors file it was exported from).
FORMAT = "fetalview-resunet-onnx-1"


class OnnxBackend:
    """Runs a fetalview ONNX graph on the CPU: a batch of letterboxed grids in, logits out.

    Args:
        path: a graph written by ``python -m training export``.
        threads: ONNX Runtime's intra-op threads; None: one per physical core.
    """

    device = "cpu"

    def __init__(self, path: Path, threads: int | None = None):
        path = Path(path)
        if not path.is_file():
            raise WeightsError(f"model graph not found: {path}")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or 0
        options.inter_op_num_threads = 1
        # Idle threads sleep instead of spinning: the app's GUI thread and the other processes
        # of a small machine keep their cores between scans.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3  # ORT's own warnings are for its developers
        try:
            self._session = onnxruntime.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - ORT raises its own unrelated exception types
            raise WeightsError(f"{path.name} is not a usable ONNX graph "
                               f"({str(exc).splitlines()[0][:200]})") from None
        meta = self._session.get_modelmeta().custom_metadata_map
        if meta.get("format") != FORMAT:
            raise WeightsError(f"{path.name} was not written by fetalview (format "
                               f"{meta.get('format')!r}, expected {FORMAT!r})")
        try:
            config = json.loads(meta["config"])
            self.grid_shape = (int(config["input_height"]), int(config["input_width"]))
            self.weights_sha256 = str(meta["weights_sha256"])
        except (KeyError, TypeError, ValueError) as exc:
            raise WeightsError(f"{path.name}: unreadable model description ({exc!r})") from None
        self._input = self._session.get_inputs()[0].name
        self.label = f"CPU with ONNX Runtime {onnxruntime.__version__}"

    def run(self, batch: np.ndarray) -> np.ndarray:
        """(N, 1, H, W) float32 grids in [0, 1] -> (N, 1, H, W) float32 logits."""
        return self._session.run(None, {self._input: np.ascontiguousarray(batch, np.float32)})[0]
