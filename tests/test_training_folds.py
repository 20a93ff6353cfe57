"""Getting ready for a lent GPU: the compact cache, the folds trained side by side and packed,
the time budget that holds when runs share a GPU, and the cross-validation table."""

import io
import json
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from fetalview.core.io.scans import load_scan
from fetalview.core.model.preprocess import Letterbox
from fetalview.core.model.weights import load_model, read_header
from training import folds as folds_module
from training import train as train_module
from training.dataset import Cache, build_cache, find_labelled_scans
from training.folds import cv_table, run_folds
from training.train import TrainPlan, train

CHECKOUT = Path(__file__).resolve().parents[1]
SAMPLES = CHECKOUT / "resources" / "samples"
#: Project dependencies the GPU machines' Python lacks (device README, KINDS.md): training must
#: run without them.
NOT_ON_THE_GPU_MACHINE = ("openvino", "PySide6", "qimage2ndarray", "pydicom", "pylibjpeg",
                          "highdicom", "pynetdicom", "simplejpeg")


@pytest.fixture(scope="module")
def sample_cache(tmp_path_factory):
    """The four bundled sample scans (four subjects) as a small training cache."""
    path = tmp_path_factory.mktemp("cache") / "samples_64x96.npz"
    return build_cache(find_labelled_scans(SAMPLES), (64, 96), path)


def test_the_cache_holds_every_scan_exactly_in_less_than_zlib_needs(tmp_path):
    scans = find_labelled_scans(SAMPLES)
    grid = (256, 384)
    path = build_cache(scans, grid, tmp_path / "cache.npz")
    expected = np.stack([Letterbox(load_scan(s.scan).pixels.shape, grid)
                         .to_grid(load_scan(s.scan).pixels) for s in scans])
    cache = Cache.load(path)
    assert cache.images.dtype == np.uint8 and np.array_equal(cache.images, expected)
    assert list(cache.names) == [s.scan.name for s in scans]
    plain = io.BytesIO()
    np.savez_compressed(plain, images=expected)
    assert path.stat().st_size < 0.85 * len(plain.getvalue())


def test_folds_train_side_by_side_without_the_apps_packages(sample_cache, tmp_path):
    """End to end as on the GPU machine, whose Python lacks pydicom, OpenVINO, Qt and the rest:
    stand-ins that refuse to import take their place."""
    missing = tmp_path / "missing"
    for name in NOT_ON_THE_GPU_MACHINE:
        (missing / name).mkdir(parents=True)
        (missing / name / "__init__.py").write_text(
            f"raise ImportError('{name} is not on the GPU machine')\n")
    out, runs = tmp_path / "out", tmp_path / "runs"
    done = subprocess.run(
        [sys.executable, "-m", "training", "folds", "--cache", str(sample_cache), "--out",
         str(out), "--minutes", "2", "--folds", "2", "--device", "cpu", "--runs", str(runs),
         "--epochs", "1", "--", "--steps-per-epoch", "1", "--batch-size", "2",
         "--base-width", "4", "--depth", "3"],
        cwd=CHECKOUT, capture_output=True, text=True, timeout=120,
        env={"PYTHONPATH": str(missing), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["device.json", "fold0.tar", "fold1.tar",
                                                     "folds.log"]
    record = json.loads((out / "device.json").read_text())
    assert record["environment"]["torch"] == torch.__version__
    assert "cuda" in record["environment"] and record["environment"]["device"] == "cpu"
    unpacked = tmp_path / "unpacked"
    for k in (0, 1):
        with tarfile.open(out / f"fold{k}.tar") as tar:
            # the "data" filter where this Python has it (3.11.4 on; Debian 12 has 3.11.2)
            tar.extractall(unpacked, **({"filter": "data"} if hasattr(tarfile, "data_filter")
                                        else {}))
        fold = unpacked / f"fold{k}"
        assert sorted(p.name for p in fold.iterdir()) == ["command.txt", "history.json",
                                                          "train.log", "weights.safetensors"]
        command = fold.joinpath("command.txt").read_text().strip()
        assert command == record["folds"][k]["command"]
        assert f"--folds 2 --fold {k} --screens --jpeg --device cpu" in command
        plan = json.loads(read_header(fold / "weights.safetensors")["plan"])
        assert (plan["folds"], plan["fold"], plan["screens"], plan["jpeg"]) == (2, k, True, True)
        assert load_model(fold / "weights.safetensors").config.base_width == 4
        assert len(json.loads(fold.joinpath("history.json").read_text())) == 1
        assert record["folds"][k]["returncode"] == 0 and record["folds"][k]["weights"]


def test_a_failing_or_hanging_fold_costs_no_other_fold(tmp_path, monkeypatch):
    """Fold 0 ends well, fold 1 fails, fold 2 runs past the limit and is stopped: each is
    packed with what it left, and the command says not every fold gave weights."""
    cache = tmp_path / "cache.npz"
    cache.write_bytes(b"stand-in")

    def stand_in(cache, run, folds, fold, device, epochs, budget_min, extra):
        body = {0: f"import pathlib; r = pathlib.Path({str(run)!r}); "
                   "(r / 'weights.safetensors').write_bytes(b'w'); "
                   "(r / 'history.json').write_text('[{\"epoch\": 1}]')",
                1: "import sys; print('no such fold'); sys.exit(3)",
                2: "import time; print('training', flush=True); time.sleep(600)"}[fold]
        return ["python", "-c", body]

    monkeypatch.setattr(folds_module, "train_command", stand_in)
    monkeypatch.setattr(folds_module, "STOP_BEFORE_LIMIT_S", 96 - 3.0)  # stop after 3 s
    started = time.time()
    assert run_folds(cache, tmp_path / "out", 1.6, folds=3, device="cpu",
                     runs=tmp_path / "runs", poll_s=0.1) == 1
    assert time.time() - started < 30
    record = json.loads((tmp_path / "out" / "device.json").read_text())
    ended = {f["fold"]: f for f in record["folds"]}
    assert ended[0]["returncode"] == 0 and ended[0]["weights"] and ended[0]["epochs"] == 1
    assert ended[1]["returncode"] == 3 and not ended[1]["weights"]
    assert ended[2]["returncode"] != 0 and ended[2]["note"] == "stopped at the time limit"

    def packed(k):
        with tarfile.open(tmp_path / "out" / f"fold{k}.tar") as tar:
            return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}

    assert packed(0)["fold0/weights.safetensors"] == b"w"
    assert "fold1/weights.safetensors" not in packed(1)
    assert b"no such fold" in packed(1)["fold1/train.log"]
    assert b"training" in packed(2)["fold2/train.log"]
    log = (tmp_path / "out" / "folds.log").read_text()
    assert "weights from 1 of 3 folds: [0]" in log


def test_folds_refuse_runs_or_an_output_folder_already_there(tmp_path):
    cache = tmp_path / "cache.npz"
    cache.write_bytes(b"stand-in")
    (tmp_path / "runs" / "fold1").mkdir(parents=True)
    (tmp_path / "runs" / "fold1" / "weights.safetensors").write_bytes(b"earlier run")
    with pytest.raises(SystemExit, match="fold1 already hold files; nothing was done"):
        run_folds(cache, tmp_path / "out", 5, folds=2, runs=tmp_path / "runs")
    assert not (tmp_path / "out").exists()
    assert (tmp_path / "runs" / "fold1" / "weights.safetensors").read_bytes() == b"earlier run"
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "fold0.tar").write_bytes(b"someone's")
    with pytest.raises(SystemExit, match="out already hold files; nothing was done"):
        run_folds(cache, tmp_path / "out", 5, folds=2, runs=tmp_path / "elsewhere")
    assert (tmp_path / "out" / "fold0.tar").read_bytes() == b"someone's"
    assert not (tmp_path / "elsewhere").exists()


def test_the_time_budget_holds_when_epochs_slow_down(sample_cache, tmp_path, monkeypatch):
    """As when other folds start on the same GPU after this one's epoch 2: later epochs take
    longer, and the run still ends inside its budget instead of keeping epoch 2's count. The
    run's clock is one that validation moves: 1 s an epoch for two epochs, then 10 s."""
    torch.set_num_threads(2)
    quick_validate, clock = train_module.validate, {"now": 0.0, "epochs": 0}

    def validate_and_tick(*args):
        clock["epochs"] += 1
        clock["now"] += 1.0 if clock["epochs"] <= 2 else 10.0
        return quick_validate(*args)

    monkeypatch.setattr(train_module, "validate", validate_and_tick)
    monkeypatch.setattr(train_module, "time", SimpleNamespace(time=lambda: clock["now"]))
    plan = TrainPlan(cache=str(sample_cache), epochs=10_000, batch_size=2, base_width=4,
                     depth=3, steps_per_epoch=1, time_budget_min=0.5)
    messages = []
    train(plan, tmp_path / "run", device="cpu", log=messages.append)
    cuts = [int(m.rsplit("-> ", 1)[1].split()[0]) for m in messages if m.startswith("time budget")]
    # Epoch 2 at 2 s: 28 s left at 1 s an epoch -> 30. Epoch 3 at 12 s: median of 1 and 10 s
    # -> 3 more. Epoch 4 at 22 s: 8 s left at 10 s an epoch -> none (epoch 2's count: 30 epochs,
    # 282 s).
    assert cuts == [30, 6, 4]
    assert len(json.loads((tmp_path / "run" / "history.json").read_text())) == 4
    assert clock["now"] <= 0.5 * 60


def test_the_cross_validation_table_gives_each_fold_and_mean_sd(tmp_path):
    paths = []
    for k, (scans, dice, hc, over) in enumerate([(100, 0.97, 1.5, 1), (300, 0.98, 2.5, 0)]):
        paths.append(tmp_path / f"fold{k}.json")
        paths[-1].write_text(json.dumps({
            "split": {"folds": 2, "fold": k}, "scans": scans, "dice_mean": dice,
            "hc_abs_diff_mm_mean": hc, "hc_abs_diff_mm_median": hc - 0.5,
            "hc_abs_diff_mm_p95": hc + 3, "scans_over_10mm": over, "low_confidence_flags": 2}))
    rows = cv_table(paths).splitlines()
    assert rows[2].startswith("| 0 | 100 | 0.9700 | 1.50 |")
    assert "| 2.00 +/- 0.71 |" in rows[4] and "| 0.9750 +/- 0.0071 |" in rows[4]
    assert rows[5].startswith("| all scans | 400 | 0.9775 | 2.25 |  |  | 1 | 4 |")
