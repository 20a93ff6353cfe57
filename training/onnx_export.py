"""The ONNX graph of a weights file, which the app and the batch command run on OpenVINO.

Written beside the safetensors file (same name, ``.onnx``) and checked against PyTorch before
it is kept: a graph whose logits differ from the weights' would measure differently from the
figures validated through them. The same weights give the same bytes wherever they are exported
(the model card records the graph's sha256, and ``export --refresh`` must reproduce it).
"""

from __future__ import annotations

import json
import logging
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch

from fetalview.core.model.card import sha256_of
from fetalview.core.model.openvino_backend import FORMAT, OpenVinoBackend
from fetalview.core.io.outputs import write_atomic
from fetalview.core.model.weights import load_model

#: Largest logit difference from PyTorch accepted for the exported graph (measured: ~2e-5).
TOLERANCE = 1e-3


def export_onnx(weights: Path, out: Path | None = None) -> Path:
    """Write the graph of ``weights`` to ``out`` (default: beside it, ``.onnx``); returns it.

    One graph for every batch size (the app sends one scan, or the scan and its mirror image
    with --tta) at the grid the weights were trained for.
    """
    weights = Path(weights)
    out = Path(out) if out is not None else weights.with_suffix(".onnx")
    model = load_model(weights).eval()
    config = model.config
    x = torch.rand(2, 1, config.input_height, config.input_width,
                   generator=torch.Generator().manual_seed(0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.getLogger("torch.onnx").setLevel(logging.ERROR)
        program = torch.onnx.export(
            model, (x,), dynamo=True, input_names=["grids"], output_names=["logits"],
            dynamic_shapes={"x": {0: torch.export.Dim("batch", min=1, max=64)}},
            verbose=False)
    graph = program.model_proto
    _strip_exporter_notes(graph)
    graph.doc_string = "fetalview Residual UNet: letterboxed scans in [0, 1] -> head logits"
    meta = {"format": FORMAT, "config": json.dumps(config.as_dict()),
            "weights_sha256": sha256_of(weights)}
    del graph.metadata_props[:]
    for key, value in meta.items():
        graph.metadata_props.add(key=key, value=value)
    data = graph.SerializeToString()
    with tempfile.TemporaryDirectory(prefix="fetalview-onnx-") as scratch:
        checked = Path(scratch) / out.name  # the same bytes, read as the app reads a graph
        checked.write_bytes(data)
        _check_against_torch(model, checked, x)
    write_atomic(out, data)
    return out


def _strip_exporter_notes(graph) -> None:
    """Drop the metadata the exporter hangs on the graph, its nodes and values: debugging notes
    (FX node text, module names, and stack traces with the absolute path of the checkout that
    ran the export), so a graph exported from another worktree or clone differed byte for byte.
    The runtimes never read them."""
    g = graph.graph
    for item in (*g.node, *g.input, *g.output, *g.value_info, *g.initializer):
        del item.metadata_props[:]
    del g.metadata_props[:]


def _check_against_torch(model: torch.nn.Module, graph: Path, x: torch.Tensor) -> None:
    with torch.inference_mode():
        expected = model(x).numpy()
    got = OpenVinoBackend(graph).run(x.numpy())
    worst = float(np.abs(got - expected).max())
    if not worst <= TOLERANCE:
        raise RuntimeError(f"the exported graph differs from PyTorch by {worst:.2g} "
                           f"(tolerance {TOLERANCE}); not written")
