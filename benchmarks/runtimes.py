"""The bundled network's forward pass on each candidate CPU runtime, in one process.

    python -m benchmarks.runtimes [--runs N] [--threads N]

How ONNX Runtime was chosen: it is timed against OpenVINO (when installed: ``pip install
openvino``; at full precision and at the precision OpenVINO picks by default on this CPU) and
PyTorch (when installed), turn by turn on the same letterboxed batch, with each one's largest
logit difference from PyTorch (or from ONNX Runtime without torch). Medians in ms.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import time

import numpy as np

from fetalview.bundled import default_weights
from fetalview.core.onnx_backend import OnnxBackend


def _openvino(threads: int | None) -> dict:
    import openvino

    core = openvino.Core()
    found = {}
    for precision in ("f32", None):  # None: OpenVINO's default for this CPU (bf16 with AMX)
        config = {"PERFORMANCE_HINT": "LATENCY", **({"INFERENCE_NUM_THREADS": threads}
                                                   if threads else {})}
        if precision:
            config["INFERENCE_PRECISION_HINT"] = precision
        model = core.compile_model(str(default_weights().with_suffix(".onnx")), "CPU", config)
        chosen = model.get_property("INFERENCE_PRECISION_HINT")
        request = model.create_infer_request()
        found[f"CPU with OpenVINO {openvino.__version__.split('-')[0]} "
              f"({chosen.get_type_name()})"] = \
            lambda x, r=request: r.infer({0: x})[0]
    return found


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--threads", type=int, default=0, help="0: each runtime's default")
    args = p.parse_args(argv)
    threads = args.threads or None
    onnx = OnnxBackend(default_weights().with_suffix(".onnx"), threads)
    runs = {onnx.label: onnx.run}
    if importlib.util.find_spec("openvino"):
        runs.update(_openvino(threads))
    if importlib.util.find_spec("torch"):
        from fetalview.core.torch_backend import TorchBackend
        on_torch = TorchBackend(default_weights(), "cpu", threads)
        runs[on_torch.label + " (channels-last)"] = on_torch.run
    x = np.random.default_rng(0).random((1, 1, *onnx.grid_shape), np.float32)
    reference = list(runs.values())[-1](x)
    times = {name: [] for name in runs}
    for run in runs.values():
        run(x)  # warm-up
    for _ in range(args.runs):
        for name, run in runs.items():
            t = time.perf_counter()
            run(x)
            times[name].append(time.perf_counter() - t)
    print(f"forward pass, batch 1, grid {onnx.grid_shape[0]}x{onnx.grid_shape[1]}, median of "
          f"{args.runs} (turn by turn), threads {threads or 'default'}")
    for name, run in runs.items():
        diff = float(np.abs(run(x) - reference).max())
        print(f"  {name:<44} {1000 * statistics.median(times[name]):7.1f} ms   "
              f"largest logit difference {diff:.1e}")


if __name__ == "__main__":
    main()
