"""The network on OpenVINO: how the app and the batch command run the model on the CPU.

The app only ever runs a fixed forward pass, so it needs no autograd and no PyTorch. OpenVINO
runs the bundled ONNX graph as it is (no conversion step, no second file) in less than half
of PyTorch's CPU time and a little faster than ONNX Runtime on the development machine, and
imports in a fraction of a second (benchmarks/README.md). The graph is exported from the
safetensors weights by ``python -m training export`` and agrees with them within 0.01 mm of HC
per validation scan (resources/weights/MODEL_CARD.md).

Two settings carry the model card's figures and are not left to OpenVINO's defaults:

- full precision (f32): on a CPU with AMX or AVX-512 BF16, OpenVINO otherwise runs bf16
  without saying so, which moved single validation scans by up to 0.07 mm of HC;
- one static batch size per compiled model: the graph's dynamic batch ran one scan slower
  (``python -m benchmarks.runtimes`` times both), so batch 1 (one scan) is compiled at load and
  any other size (2 with --tta: the scan and its mirror image) the first time it is run.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

# ``import openvino`` also imports its model converter, whose telemetry is on unless the user
# opted out: it writes a client id under ~/intel and sends an event to Google Analytics on
# every import. A clinical app must not report to anyone. Without the telemetry package the
# converter uses its own silent stub; fetalview never converts a model, it reads the graph.
sys.modules.setdefault("openvino_telemetry", None)
import openvino  # noqa: E402 - after the line above
from openvino.frontend import FrontEndManager  # noqa: E402

from fetalview.core.model.card import WeightsError  # noqa: E402

#: Written into the graph's metadata by the exporter, with "config" (the network's
#: ModelConfig as JSON) and "weights_sha256" (the safetensors file it was exported from).
FORMAT = "fetalview-resunet-onnx-1"
#: The runtime's release, e.g. "2026.4.1" (openvino.__version__ also names the build).
VERSION = openvino.__version__.split("-")[0]


def _metadata(model: openvino.Model) -> dict[str, str]:
    """The ONNX graph's metadata_props: OpenVINO's ONNX reader keeps them in the model's
    runtime information under "framework"."""
    if not model.has_rt_info(["framework"]):
        return {}
    return {key: value.astype(str)
            for key, value in model.get_rt_info(["framework"]).astype(dict).items()}


class OpenVinoBackend:
    """Runs a fetalview ONNX graph on the CPU: a batch of letterboxed grids in, logits out.

    Args:
        path: a graph written by ``python -m training export``.
        threads: OpenVINO's inference threads; None: OpenVINO's default (one per core).
    """

    device = "cpu"

    def __init__(self, path: Path, threads: int | None = None):
        path = Path(path)
        if not path.is_file():
            raise WeightsError(f"model graph not found: {path}")
        # The ONNX reader only: read_model would try every framework OpenVINO reads on a file
        # that is not a valid graph, with their own complaints on stderr.
        onnx = FrontEndManager().load_by_framework("onnx")
        try:
            self._model = onnx.convert(onnx.load(str(path)))
        except Exception as exc:  # noqa: BLE001 - OpenVINO raises its own unrelated types
            raise WeightsError(f"{path.name} is not a usable ONNX graph ({_reason(exc)})") \
                from None
        meta = _metadata(self._model)
        if meta.get("format") != FORMAT:
            raise WeightsError(f"{path.name} was not written by fetalview (format "
                               f"{meta.get('format')!r}, expected {FORMAT!r})")
        try:
            config = json.loads(meta["config"])
            self.grid_shape = (int(config["input_height"]), int(config["input_width"]))
            self.weights_sha256 = str(meta["weights_sha256"])
        except (KeyError, TypeError, ValueError) as exc:
            raise WeightsError(f"{path.name}: unreadable model description ({exc!r})") from None
        self._name = path.name
        self._core = openvino.Core()
        self._settings = {"INFERENCE_PRECISION_HINT": "f32", "PERFORMANCE_HINT": "LATENCY",
                          "INFERENCE_NUM_THREADS": threads or 0}
        self._requests: dict[int, openvino.InferRequest] = {}
        self._request(1)  # a graph OpenVINO cannot compile is refused at load, not at a scan
        self.label = f"CPU with OpenVINO {VERSION}"

    @property
    def precision(self) -> str:
        """The precision the networks compiled so far compute in ("f32"), as OpenVINO reports
        it; several joined by "/" if they differed."""
        return "/".join(sorted({
            request.get_compiled_model().get_property("INFERENCE_PRECISION_HINT").get_type_name()
            for request in self._requests.values()}))

    def _request(self, batch_size: int) -> openvino.InferRequest:
        """The network compiled for ``batch_size`` grids, compiled on first use."""
        if batch_size not in self._requests:
            self._model.reshape([batch_size, 1, *self.grid_shape])
            try:
                compiled = self._core.compile_model(self._model, "CPU", self._settings)
            except Exception as exc:  # noqa: BLE001
                raise WeightsError(f"{self._name} cannot run on OpenVINO ({_reason(exc)})") \
                    from None
            self._requests[batch_size] = compiled.create_infer_request()
        return self._requests[batch_size]

    def run(self, batch: np.ndarray) -> np.ndarray:
        """(N, 1, H, W) float32 grids in [0, 1] -> (N, 1, H, W) float32 logits."""
        request = self._request(len(batch))
        return request.infer({0: np.ascontiguousarray(batch, np.float32)})[0]


def _reason(exc: Exception) -> str:
    """The telling line of an OpenVINO error (they open with source file locations)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return (lines[-1] if lines else type(exc).__name__)[:200]
