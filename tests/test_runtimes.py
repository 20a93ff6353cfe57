"""The two runtimes of the bundled model: OpenVINO (the app's, on the CPU) and PyTorch
(training, CUDA) measure alike, and the app works with no torch installed at all."""

from __future__ import annotations

import csv
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest

from fetalview.bundled import default_weights
from fetalview.cli import main as fetalview
from fetalview.core.io.hc18 import read_pixel_size_csv
from fetalview.core.io.scans import list_scans, load_scan
from fetalview.core.measure.biometry import measure
from fetalview.core.model.card import MODEL_CARD, WeightsError, sha256_of
from fetalview.core.measure.pixelsize import PixelSize
from fetalview.core.model.segmenter import Segmenter

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "resources" / "samples"


@pytest.fixture(scope="module")
def on_openvino():
    """The app's CPU path, whatever device the session's shared segmenter was asked for."""
    return Segmenter(device="cpu", backend="openvino")


@pytest.fixture(scope="module")
def on_torch():
    pytest.importorskip("torch")
    return Segmenter(device="cpu", backend="torch")


def test_the_default_runtime_on_the_cpu_is_openvino_at_full_precision():
    segmenter = Segmenter(device="cpu")
    assert segmenter.device_label == f"CPU with OpenVINO {importlib.metadata.version('openvino')}"
    assert segmenter.weights.name == "resunet.onnx"
    # OpenVINO's own choice on a CPU with AMX or AVX-512 BF16 would be bf16
    assert segmenter.backend.precision == "f32"
    segmenter.tta = True  # the scan and its mirror image: a second batch size, compiled alike
    assert segmenter.grid_logits(np.zeros(segmenter.grid_shape, np.uint8)).shape \
        == segmenter.grid_shape
    assert segmenter.backend.precision == "f32"


def test_openvino_and_torch_measure_each_sample_alike(on_openvino, on_torch):
    """Within 0.01 mm of HC per scan, as on every validation scan (see the model card)."""
    sizes = read_pixel_size_csv(SAMPLES / "samples_pixel_size_and_HC.csv")
    assert on_torch.device_label.startswith("CPU with PyTorch ")
    assert on_torch.model_version == on_openvino.model_version  # the same weights, named alike
    for path in list_scans(SAMPLES):
        pixels = load_scan(path).pixels
        size = PixelSize(sizes[path.name]["pixel_size_mm"], "samples CSV")
        ours, theirs = on_openvino.segment(pixels), on_torch.segment(pixels)
        hc, hc_torch = measure(ours.ellipse, size).hc, measure(theirs.ellipse, size).hc
        assert abs(hc - hc_torch) <= 0.01, (path.name, hc, hc_torch)
        assert np.count_nonzero(ours.mask != theirs.mask) <= 0.001 * ours.mask.size


def _synthetic_scans() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    ring = np.zeros((480, 640), np.uint8)
    cv2.ellipse(ring, (300, 250), (150, 110), 20, 0, 360, 220, 9)
    speckled = np.clip(ring + rng.normal(40, 20, ring.shape), 0, 255).astype(np.uint8)
    return {"noise": rng.integers(0, 256, (600, 800), dtype=np.uint8), "ring": speckled,
            "blank": np.zeros((300, 300), np.uint8), "tall": speckled[:, :200].copy()}


@pytest.mark.parametrize("tta", [False, True])
def test_openvino_and_torch_logits_agree_on_synthetic_scans(on_openvino, on_torch, tta):
    on_openvino.tta = on_torch.tta = tta
    try:
        for name, pixels in _synthetic_scans().items():
            _, batch = on_openvino.prepare(pixels)
            ours, theirs = on_openvino.forward(batch), on_torch.forward(batch)
            assert ours.shape == on_openvino.grid_shape
            assert np.abs(ours - theirs).max() < 1e-3, name
    finally:
        on_openvino.tta = on_torch.tta = False


def test_the_card_names_both_files_and_its_figures_come_from_openvino():
    folder = default_weights().parent
    card = json.loads((folder / MODEL_CARD).read_text())
    assert card["sha256"] == sha256_of(folder / card["weights"])
    assert card["onnx_sha256"] == sha256_of(folder / card["onnx"])
    for figures in (card["validation"], card["validation_tta"]):
        assert "OpenVINO" in figures["runtime"] and figures["scans"] == 161
    agreement = card["validation"]["agreement"]
    assert agreement["scans"] == 161 and agreement["hc_abs_diff_mm_max"] <= 0.01
    with open(folder / "onnx_torch_agreement.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 161
    assert max(float(r["hc_abs_diff_mm"]) for r in rows) == agreement["hc_abs_diff_mm_max"]


def test_bad_onnx_graphs_are_refused_naming_the_file(tmp_path, capsys):
    good = (default_weights().with_suffix(".onnx")).read_bytes()
    bad = {"truncated.onnx": good[: len(good) // 3], "empty.onnx": b"",
           "random.onnx": np.random.default_rng(2).bytes(4000)}
    for name, data in bad.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(WeightsError, match=name) as refused:
            Segmenter(weights=path, device="cpu")
        # one clear line: what is wrong with the file, not where in OpenVINO's sources it failed
        assert "\n" not in str(refused.value) and ".cpp" not in str(refused.value)
        assert fetalview(["measure", str(SAMPLES / "050_HC.png"), "--weights", str(path)]) == 2
        assert name in capsys.readouterr().err


def _edited_graph(folder: Path, name: str, edit) -> Path:
    onnx = pytest.importorskip("onnx")
    graph = onnx.load(str(default_weights().with_suffix(".onnx")))
    edit(graph)
    path = folder / name
    onnx.save(graph, str(path))
    return path


def _drop_metadata(graph) -> None:
    del graph.metadata_props[:]


def _drop_a_node(graph) -> None:
    del graph.graph.node[5]


def _unknown_operator(graph) -> None:
    graph.graph.node[3].op_type = "NoSuchOp"


def _cut_config(graph) -> None:
    next(p for p in graph.metadata_props if p.key == "config").value = '{"input_height": '


def test_an_onnx_graph_not_made_by_fetalview_is_refused(tmp_path):
    path = _edited_graph(tmp_path, "foreign.onnx", _drop_metadata)
    with pytest.raises(WeightsError, match="not written by fetalview"):
        Segmenter(weights=path, device="cpu")


@pytest.mark.parametrize("name, edit, says", [
    ("missing_node.onnx", _drop_a_node, "not a usable ONNX graph"),
    ("unknown_op.onnx", _unknown_operator, "not a usable ONNX graph"),
    ("bad_config.onnx", _cut_config, "unreadable model description"),
])
def test_a_damaged_fetalview_graph_is_refused_in_one_line(tmp_path, name, edit, says):
    """Graphs that parse as protobuf, with fetalview's metadata, that OpenVINO cannot build."""
    path = _edited_graph(tmp_path, name, edit)
    with pytest.raises(WeightsError, match=says) as refused:
        Segmenter(weights=path, device="cpu")
    assert name in str(refused.value) and "\n" not in str(refused.value)


def test_export_writes_a_graph_beside_the_weights_that_runs_like_them(tmp_path):
    torch = pytest.importorskip("torch")
    from fetalview.core.model.network import ModelConfig, ResidualUNet
    from fetalview.core.model.weights import save_weights
    from training.onnx_export import export_onnx

    torch.manual_seed(0)
    model = ResidualUNet(ModelConfig(base_width=4, depth=3, input_height=48, input_width=64))
    for module in model.modules():  # non-trivial batch-norm statistics, as after training
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    weights = tmp_path / "tiny.safetensors"
    save_weights(model.eval(), weights)
    assert export_onnx(weights) == tmp_path / "tiny.onnx"
    on_openvino = Segmenter(weights=weights, device="cpu")  # finds the graph beside the weights
    on_torch = Segmenter(weights=weights, device="cpu", backend="torch")
    assert "OpenVINO" in on_openvino.device_label and on_openvino.grid_shape == (48, 64)
    assert on_openvino.model_version == on_torch.model_version \
        == f"tiny-{sha256_of(weights)[:12]}"
    batch = np.random.default_rng(0).random((3, 1, 48, 64), np.float32)
    assert np.abs(on_openvino.backend.run(batch) - on_torch.backend.run(batch)).max() < 1e-4
    assert not list(tmp_path.glob("*.tmp"))


def test_the_threads_asked_for_are_the_threads_openvino_runs():
    """The app leaves the GUI a core by asking for one thread fewer than the machine has."""
    backend = Segmenter(device="cpu", threads=1).backend
    compiled = backend._requests[1].get_compiled_model()
    assert compiled.get_property("INFERENCE_NUM_THREADS") == 1


def test_cuda_cannot_be_asked_of_openvino():
    with pytest.raises(ValueError, match="CPU only"):
        Segmenter(device="cuda", backend="openvino")


# --- without torch (nor ONNX Runtime, which the benchmarks compare) ---------------------------

def _site_without_torch(folder: Path) -> Path:
    """A copy (by links) of this environment's site-packages with torch and ONNX Runtime left
    out: the environment of ``pip install -e .`` without torch, faithfully (their finders find
    nothing, as when they were never installed)."""
    import numpy
    site = Path(numpy.__file__).resolve().parents[1]
    folder.mkdir()
    for entry in site.iterdir():
        if not entry.name.lower().startswith(("torch", "functorch", "onnxruntime",
                                              "__editable__", "fetalview")):
            (folder / entry.name).symlink_to(entry)
    return folder


def _run_without_torch(tmp_path: Path, code: str) -> subprocess.CompletedProcess:
    site = _site_without_torch(tmp_path / "site")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(site)]),
           "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path)}
    prelude = ("import importlib.util, sys\n"
               "assert importlib.util.find_spec('torch') is None, 'torch is still reachable'\n"
               "assert importlib.util.find_spec('onnxruntime') is None\n")
    # -S: no site-packages but the linked copy (and no .pth file can bring torch back)
    return subprocess.run([sys.executable, "-S", "-c", prelude + textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)


def test_the_batch_command_measures_without_torch(tmp_path):
    out = tmp_path / "results.csv"
    done = _run_without_torch(tmp_path, f"""
        from fetalview.cli import main
        code = main(["measure", {str(SAMPLES)!r}, "--out", {str(out)!r}])
        assert "torch" not in sys.modules
        sys.exit(code)
    """)
    assert done.returncode == 0, done.stderr
    assert "on CPU with OpenVINO" in done.stderr
    with open(out, newline="") as f:
        rows = {r["filename"]: r for r in csv.DictReader(f)}
    reference = read_pixel_size_csv(SAMPLES / "samples_pixel_size_and_HC.csv")
    assert set(rows) == set(reference)
    for name, ref in reference.items():
        assert float(rows[name]["hc_mm"]) == pytest.approx(ref["hc_mm"], rel=0.03), name


def test_the_app_opens_and_segments_a_scan_without_torch(tmp_path):
    scan = tmp_path / "050_HC.png"
    scan.write_bytes((SAMPLES / scan.name).read_bytes())
    done = _run_without_torch(tmp_path, f"""
        import time
        from pathlib import Path
        from PySide6.QtCore import QSettings
        from PySide6.QtWidgets import QApplication
        from fetalview.gui.main_window import MainWindow
        from fetalview.gui.settings import AppSettings

        app = QApplication([])
        home = Path({str(tmp_path)!r})
        window = MainWindow(AppSettings(QSettings(str(home / "s.ini"), QSettings.IniFormat),
                                        data_dir=home / "appdata"))  # the real model
        window.show()
        window.session.open_paths([home / "050_HC.png"])
        end = time.monotonic() + 120
        while time.monotonic() < end and (window.session.current is None
                                          or window.session.current.annotation.ellipse is None):
            app.processEvents()
            time.sleep(0.01)
        app.processEvents()
        e = window.session.current.annotation.ellipse
        print(window.device_label.text(), "|", e.a, e.b, "|", "torch" in sys.modules)
        window.close()
    """)
    assert done.returncode == 0, done.stderr[-3000:]
    label, axes, torch_loaded = done.stdout.strip().splitlines()[-1].split(" | ")
    assert label.startswith("Model on CPU with OpenVINO") and torch_loaded == "False"
    reference = Segmenter(device="cpu").segment(load_scan(scan).pixels).ellipse
    assert [float(v) for v in axes.split()] == pytest.approx([reference.a, reference.b], rel=1e-3)


def test_a_cpu_machine_with_torch_installed_does_not_import_it():
    """torch is only imported where an NVIDIA driver could give it a GPU to use."""
    if Path("/proc/driver/nvidia/version").exists() or shutil.which("nvidia-smi"):
        pytest.skip("this machine has an NVIDIA driver: auto may rightly choose CUDA")
    code = ("import sys; from fetalview.core.model.segmenter import Segmenter; "
            "s = Segmenter(); print(s.device_label, 'torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "OpenVINO" in done.stdout and done.stdout.strip().endswith("False")


def test_running_the_model_sends_nothing_and_writes_nothing_home(tmp_path):
    """``import openvino`` imports its model converter, whose telemetry (opt-out) writes a
    client id under ~/intel and sends a Google Analytics event: not from a clinical app."""
    code = textwrap.dedent("""
        import sys
        import numpy as np
        from fetalview.core.model.segmenter import Segmenter
        segmenter = Segmenter(device="cpu")
        segmenter.grid_logits(np.zeros(segmenter.grid_shape, np.uint8))
        print(segmenter.device_label, sys.modules.get("openvino_telemetry"))
    """)
    env = {**os.environ, "HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    env.pop("CI", None)  # the telemetry keeps quiet in CI jobs only
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == "None" and "OpenVINO" in done.stdout
    assert list(tmp_path.iterdir()) == []
