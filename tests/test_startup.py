"""Start-up pays only for what the run uses: the model's runtimes (OpenVINO, a quarter of a
second; torch, seconds, and optional), pynetdicom and highdicom are not imported by the
command line, the batch or the app's window until a run asks for the model,
``--dicom-out``/``--send`` or a PACS action; pydicom and its JPEG decoders (a tenth of a
second) not until a DICOM file is read. Each check runs in a fresh interpreter, since this
test session has imported them all."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "resources" / "samples" / "050_HC.png"
HEAVY = ("torch", "openvino", "pynetdicom", "highdicom", "pydicom", "pylibjpeg", "simplejpeg")
REPORT = f"import json, sys; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"


def _heavy_loaded(code: str, tmp_path: Path) -> list[str]:
    """Run ``code`` then REPORT in a fresh interpreter (home and settings under tmp_path);
    the heavy modules it had imported."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path),
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_DATA_HOME": str(tmp_path / "data"),
           "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, text=True,
                          capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_modules_of_the_cli_batch_and_window_import_nothing_heavy(tmp_path):
    assert _heavy_loaded("import fetalview.cli, fetalview.core.batch, fetalview.gui.app, "
                         "fetalview.gui.main_window, fetalview.gui.pacs.features\n" + REPORT,
                         tmp_path) == []


def test_the_window_shows_before_anything_heavy_is_imported(tmp_path):
    """``python -m fetalview`` up to the moment its window is shown."""
    code = ("import os, sys\n"
            "from fetalview.gui.main_window import MainWindow\n"
            "def shown(window):\n"
            "    " + REPORT.replace("; ", "\n    ") + "\n"
            "    sys.stdout.flush()\n"
            "    os._exit(0)\n"
            "MainWindow.show = shown\n"
            "from fetalview.cli import main\n"
            "main([])\n")
    assert _heavy_loaded(code, tmp_path) == []


def test_a_measure_without_dicom_outputs_imports_no_dicom_networking_or_sr(tmp_path):
    out = tmp_path / "results.csv"
    code = ("from fetalview.cli import main\n"
            f"assert main(['measure', {str(SAMPLE)!r}, '--pixel-size', '0.1', "
            f"'--out', {str(out)!r}]) == 0\n" + REPORT)
    loaded = _heavy_loaded(code, tmp_path)
    assert "pynetdicom" not in loaded and "highdicom" not in loaded
    assert out.read_text().count("050_HC.png") == 1  # it did measure
