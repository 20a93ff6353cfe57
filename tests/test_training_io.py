"""What the training module writes: whole files or none (a kill or a failure mid-write leaves the
previous file), and an ONNX graph whose bytes depend on the weights alone."""

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from fetalview.core.model.network import ModelConfig, ResidualUNet
from fetalview.core.model.weights import save_weights
from training.dataset import write_cache
from training.evaluate import _write_csv
from training.export import write_card
from training.onnx_export import export_onnx
from training.train import TrainPlan, train

ROOT = Path(__file__).resolve().parents[1]
OLD = b"the previous file\n"


def _refuse_replace(monkeypatch, name: str | None = None):
    """os.replace fails (a full disk, a kill) for ``name`` (default: every file): the new
    bytes were written to the temporary file but never took the file's place."""
    replace = os.replace

    def refusing(src, dst):
        if name is None or Path(dst).name == name:
            raise OSError(errno.ENOSPC, "No space left on device (test)")
        return replace(src, dst)

    monkeypatch.setattr(os, "replace", refusing)


def _only_old(folder: Path, *names: str, new: tuple[str, ...] = ()) -> None:
    """Each named file still holds OLD, and nothing but them and the ``new`` files (no
    temporary file) lies in ``folder``."""
    for name in names:
        assert (folder / name).read_bytes() == OLD
    assert sorted(p.name for p in folder.iterdir()) == sorted(names + new)


def test_a_csv_row_that_cannot_be_written_leaves_the_previous_csv(tmp_path):
    """The serialiser fails after the header and a row: nothing of it reaches the file."""
    path = tmp_path / "per_scan.csv"
    path.write_bytes(OLD)
    row = {"filename": "001_HC.png", "hc_mm": 171.2}
    with pytest.raises(ValueError, match="fields not in fieldnames"):
        _write_csv(path, [row, {**row, "status": "ok"}])
    _only_old(tmp_path, "per_scan.csv")
    _write_csv(path, [row])
    assert path.read_text().splitlines() == ["filename,hc_mm", "001_HC.png,171.2"]


def test_a_history_that_cannot_replace_the_old_one_leaves_it(tmp_path, monkeypatch):
    cache = write_cache(((f"{i:03d}_HC.png", f"{i // 2:03d}", np.full((48, 64), 40 + i, np.uint8),
                          np.zeros((48, 64), np.uint8), 0.1, 100.0) for i in range(6)),
                        6, (48, 64), tmp_path / "cache.npz")
    run = tmp_path / "run"
    run.mkdir()
    (run / "history.json").write_bytes(OLD)
    _refuse_replace(monkeypatch, "history.json")
    plan = TrainPlan(cache=str(cache), epochs=1, batch_size=3, base_width=4, depth=3)
    with pytest.raises(OSError, match="No space left"):
        train(plan, run, device="cpu", log=lambda m: None)
    _only_old(run, "history.json", new=("checkpoint.pt", "weights.safetensors"))


def test_a_cache_that_cannot_replace_the_old_one_leaves_it(tmp_path, monkeypatch):
    (tmp_path / "cache.npz").write_bytes(OLD)
    _refuse_replace(monkeypatch)
    record = ("001_HC.png", "001", np.zeros((30, 40), np.uint8), np.zeros((30, 40), np.uint8),
              0.1, 100.0)
    with pytest.raises(OSError):
        write_cache(iter([record]), 1, (48, 64), tmp_path / "cache.npz")
    _only_old(tmp_path, "cache.npz")


def test_a_model_card_is_written_whole_or_not_at_all(tmp_path, monkeypatch):
    card = json.loads((ROOT / "resources" / "weights" / "model_card.json").read_text())
    for name in ("model_card.json", "MODEL_CARD.md"):
        (tmp_path / name).write_bytes(OLD)
    with pytest.raises(KeyError):  # a card that cannot be rendered replaces neither file
        write_card(tmp_path, {k: v for k, v in card.items() if k != "validation_tta"})
    _only_old(tmp_path, "model_card.json", "MODEL_CARD.md")
    with monkeypatch.context() as m:
        _refuse_replace(m)
        with pytest.raises(OSError):
            write_card(tmp_path, card)
    _only_old(tmp_path, "model_card.json", "MODEL_CARD.md")
    write_card(tmp_path, card)
    assert json.loads((tmp_path / "model_card.json").read_text()) == card
    assert card["onnx_sha256"] in (tmp_path / "MODEL_CARD.md").read_text()


def test_the_same_weights_export_to_the_same_bytes_from_another_checkout(tmp_path):
    """``export --refresh`` must reproduce the graph whose sha256 the card records: the bytes
    may not depend on the folder the code runs from (the exporter's stack traces named it),
    on the process or on its hash seed."""
    torch.manual_seed(0)
    model = ResidualUNet(ModelConfig(base_width=4, depth=3, input_height=48, input_width=64))
    weights = tmp_path / "tiny.safetensors"
    save_weights(model.eval(), weights)
    here = export_onnx(weights, tmp_path / "here.onnx")
    elsewhere = tmp_path / "another-clone"
    for package in ("fetalview", "training"):
        shutil.copytree(ROOT / package, elsewhere / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    code = ("import sys; from pathlib import Path; from training.onnx_export import export_onnx; "
            "export_onnx(Path(sys.argv[1]), Path(sys.argv[2]))")
    subprocess.run([sys.executable, "-c", code, str(weights), str(tmp_path / "there.onnx")],
                   cwd=elsewhere, check=True, timeout=300,
                   env={**os.environ, "PYTHONPATH": str(elsewhere), "PYTHONHASHSEED": "7"})
    assert (tmp_path / "there.onnx").read_bytes() == here.read_bytes()
