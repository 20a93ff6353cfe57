"""The bundled network's forward pass on each candidate CPU runtime, in one process.

    python -m benchmarks.runtimes [--runs N] [--threads N]

How OpenVINO was chosen: the app's path (OpenVINO at full precision, batch 1 compiled static)
is timed turn by turn on the same letterboxed batch against the alternatives that are
installed: OpenVINO with a dynamic batch and at the precision it picks by default on this CPU
(bf16 with AMX), ONNX Runtime (``pip install onnxruntime``; with its idle threads spinning and
sleeping) and PyTorch, each with its largest logit difference from PyTorch (or from the app's
path without torch). Medians in ms.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import time

import numpy as np

from fetalview.bundled import default_weights
from fetalview.core.model.openvino_backend import VERSION, OpenVinoBackend


def _openvino_alternatives(threads: int | None) -> dict:
    """OpenVINO as the app does not run it: the graph's dynamic batch, and OpenVINO's own
    choice of precision."""
    import openvino

    core = openvino.Core()
    found = {}
    for precision in ("f32", None):  # None: OpenVINO's default for this CPU
        config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": threads or 0}
        if precision:
            config["INFERENCE_PRECISION_HINT"] = precision
        model = core.compile_model(str(default_weights().with_suffix(".onnx")), "CPU", config)
        chosen = model.get_property("INFERENCE_PRECISION_HINT").get_type_name()
        found[f"CPU with OpenVINO {VERSION} ({chosen}, dynamic batch)"] = \
            lambda x, r=model.create_infer_request(): r.infer({0: x})[0]
    return found


def onnxruntime_runs(threads: int | None) -> dict:
    """ONNX Runtime, the app's runtime before OpenVINO, on the same graph: with its idle
    threads spinning (its default) and sleeping (as the app ran it)."""
    import onnxruntime

    found = {}
    for spinning in ("1", "0"):
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or 0
        options.add_session_config_entry("session.intra_op.allow_spinning", spinning)
        session = onnxruntime.InferenceSession(str(default_weights().with_suffix(".onnx")),
                                               options, providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        found[f"CPU with ONNX Runtime {onnxruntime.__version__} (spinning "
              f"{'on' if spinning == '1' else 'off'})"] = \
            lambda x, s=session, n=name: s.run(None, {n: x})[0]
    return found


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--threads", type=int, default=0, help="0: each runtime's default")
    args = p.parse_args(argv)
    threads = args.threads or None
    app = OpenVinoBackend(default_weights().with_suffix(".onnx"), threads)
    runs = {f"{app.label} ({app.precision}, the app's)": app.run}
    runs.update(_openvino_alternatives(threads))
    if importlib.util.find_spec("onnxruntime"):
        runs.update(onnxruntime_runs(threads))
    if importlib.util.find_spec("torch"):
        from fetalview.core.model.torch_backend import TorchBackend
        on_torch = TorchBackend(default_weights(), "cpu", threads)
        runs[on_torch.label + " (channels-last)"] = on_torch.run
    x = np.random.default_rng(0).random((1, 1, *app.grid_shape), np.float32)
    reference = list(runs.values())[-1](x)
    times = {name: [] for name in runs}
    for run in runs.values():
        run(x)  # warm-up
    for _ in range(args.runs):
        for name, run in runs.items():
            t = time.perf_counter()
            run(x)
            times[name].append(time.perf_counter() - t)
    print(f"forward pass, batch 1, grid {app.grid_shape[0]}x{app.grid_shape[1]}, median of "
          f"{args.runs} (turn by turn), threads {threads or 'default'}")
    for name, run in runs.items():
        diff = float(np.abs(run(x) - reference).max())
        print(f"  {name:<58} {1000 * statistics.median(times[name]):7.1f} ms   "
              f"largest logit difference {diff:.1e}")


if __name__ == "__main__":
    main()
