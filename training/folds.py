"""Cross-validation folds: ``folds`` trains all K side by side on one GPU inside a time limit;
``cv`` gives each fold's validation figures and their mean +/- sd.

``folds`` is made for a GPU machine lent for minutes that runs one command over a copy of the
checkout and brings back at most 8 files from one folder. A 2M-parameter model leaves most of a
GPU idle, so the K trainings run as K processes at once, each with ``--time-budget`` so that all
end inside the limit. As each fold ends, its run folder is packed into ``OUT/foldK.tar``
(weights.safetensors, history.json, command.txt, train.log; not the checkpoint, which with the
optimiser's state is three times the weights, over the 16 MiB a returned file may hold), so a
fold that fails, or a command killed at its limit, costs no other fold's results. ``OUT/device.json`` records the GPU, driver, torch and CUDA, each
fold's exact command, exit status and time; ``OUT/folds.log`` what happened when.
"""

from __future__ import annotations

import io
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fetalview.core.io.outputs import write_atomic

from .train import WEIGHTS

CHECKOUT = Path(__file__).resolve().parents[1]
#: What a fold's tar holds: all the export and the model card need, and what happened.
PACKED = (WEIGHTS, "history.json", "command.txt", "train.log")
#: Minutes of the limit kept back from the trainings' own budget: start-up (imports, decoding
#: the cache, CUDA context and kernel autotuning with K processes starting at once) and the
#: last epoch and save.
START_AND_END_MIN = 1.5
#: Before the limit, folds still running are stopped so the rest can be packed in time.
STOP_BEFORE_LIMIT_S = 30.0
UTILISATION_EVERY_S = 30.0


@dataclass
class Fold:
    index: int
    run: Path
    command: list[str]  # as recorded: ``python -m training train ...``
    process: subprocess.Popen | None = None
    log: io.BufferedWriter | None = None
    started: float = 0.0
    result: dict = field(default_factory=dict)


def train_command(cache: Path, run: Path, folds: int, fold: int, device: str, epochs: int,
                  budget_min: float, extra: list[str]) -> list[str]:
    return ["python", "-m", "training", "train", "--cache", str(cache), "--run", str(run),
            "--folds", str(folds), "--fold", str(fold), "--screens", "--jpeg",
            "--device", device, "--epochs", str(epochs), "--time-budget", f"{budget_min:g}",
            *extra]


def environment(device: str) -> dict:
    """The machine the weights were trained on: GPU, driver, torch, CUDA, cuDNN."""
    import torch

    record = {"python": platform.python_version(), "torch": torch.__version__,
              "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version(),
              "cuda_available": torch.cuda.is_available(), "cpus": os.cpu_count(),
              "host": platform.node(), "device": device}
    if torch.cuda.is_available():
        record["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    smi = _nvidia_smi("name,driver_version,memory.total")
    if smi:
        record["nvidia_smi"] = smi
    return record


def _nvidia_smi(query: str) -> str:
    if not shutil.which("nvidia-smi"):
        return ""
    try:
        done = subprocess.run(["nvidia-smi", f"--query-gpu={query}", "--format=csv,noheader"],
                              capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip()


def run_folds(cache: Path, out: Path, minutes: float, folds: int = 5, device: str = "cuda",
              epochs: int = 383, runs: Path = Path("runs"), extra: list[str] | None = None,
              poll_s: float = 1.0) -> int:
    """Train folds 0..K-1 at once, each into ``runs/foldK``, and pack each into ``out`` as it
    ends; the whole takes at most ``minutes``. Returns 0 when every fold wrote its weights."""
    if folds < 2:
        raise SystemExit("folds: give --folds 2 or more")
    budget = minutes - START_AND_END_MIN
    if budget <= 0:
        raise SystemExit(f"folds: --minutes must exceed {START_AND_END_MIN} (start-up and saving)")
    if not cache.is_file():
        raise SystemExit(f"folds: no cache at {cache} (write one with 'python -m training prepare')")
    plan = [Fold(k, runs / f"fold{k}", train_command(cache, runs / f"fold{k}", folds, k, device,
                                                      epochs, budget, extra or []))
            for k in range(folds)]
    taken = [str(f.run) for f in plan if f.run.exists() and any(f.run.iterdir())]
    if out.exists() and any(out.iterdir()):
        taken.append(str(out))
    if taken:
        raise SystemExit(f"folds: {', '.join(taken)} already hold files; nothing was done")
    out.mkdir(parents=True, exist_ok=True)
    began = time.time()
    log_file = (out / "folds.log").open("a", encoding="utf-8")

    def say(message: str) -> None:
        line = f"{time.strftime('%H:%M:%S')} +{time.time() - began:5.0f}s  {message}"
        print(line, flush=True)
        log_file.write(line + "\n")
        log_file.flush()

    record = {"environment": environment(device), "minutes": minutes,
              "time_budget_min": budget, "folds": [], "utilisation": []}
    say(f"{folds} folds on {device}, {minutes:g} min in all, {budget:g} min of training each")

    def save_record() -> None:
        record["folds"] = [{"fold": f.index, "command": shlex.join(f.command), **f.result}
                           for f in plan]
        write_atomic(out / "device.json", json.dumps(record, indent=1).encode())

    env = {**os.environ, "PYTHONUNBUFFERED": "1",
           "OMP_NUM_THREADS": str(max(1, (os.cpu_count() or folds) // folds)),
           "PYTHONPATH": os.pathsep.join([str(CHECKOUT), os.environ.get("PYTHONPATH", "")])}
    for fold in plan:
        fold.run.mkdir(parents=True, exist_ok=True)
        (fold.run / "command.txt").write_text(shlex.join(fold.command) + "\n")
        fold.log = (fold.run / "train.log").open("wb")
        fold.started = time.time()
        try:
            fold.process = subprocess.Popen([sys.executable, *fold.command[1:]], env=env,
                                            stdout=fold.log, stderr=subprocess.STDOUT)
        except OSError as error:
            _finish(fold, None, f"could not start: {error}", out, say)
    save_record()

    stop_at = began + minutes * 60 - STOP_BEFORE_LIMIT_S
    next_look = began + UTILISATION_EVERY_S
    while any(f.process and not f.result for f in plan):
        time.sleep(poll_s)
        for fold in plan:
            if fold.process and not fold.result and fold.process.poll() is not None:
                _finish(fold, fold.process.returncode, "", out, say)
                save_record()
        if time.time() >= next_look:
            next_look += UTILISATION_EVERY_S
            use = _nvidia_smi("utilization.gpu,memory.used")
            if use:
                record["utilisation"].append(f"+{time.time() - began:.0f}s {use}")
                say(f"GPU {use}")
        if time.time() >= stop_at:
            for fold in plan:
                if fold.process and not fold.result:
                    _stop(fold.process)
                    _finish(fold, fold.process.returncode, "stopped at the time limit", out, say)
            save_record()
    record["seconds"] = round(time.time() - began, 1)
    save_record()
    done = [f.index for f in plan if f.result.get("weights")]
    say(f"weights from {len(done)} of {folds} folds: {done}")
    log_file.close()
    return 0 if len(done) == folds else 1


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL if the fold is still there ten seconds later."""
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _finish(fold: Fold, returncode: int | None, why: str, out: Path, say) -> None:
    """Record how the fold ended and pack its run folder into ``out/foldK.tar``."""
    if fold.log:
        fold.log.close()
    history_file = fold.run / "history.json"
    history = json.loads(history_file.read_text()) if history_file.is_file() else []
    weights = (fold.run / WEIGHTS).is_file() and returncode == 0
    fold.result = {"returncode": returncode, "seconds": round(time.time() - fold.started, 1),
                   "epochs": len(history), "weights": weights,
                   "last_epoch": history[-1] if history else {}, "note": why}
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        for name in PACKED:
            if (fold.run / name).is_file():
                tar.add(fold.run / name, arcname=f"{fold.run.name}/{name}")
    write_atomic(out / f"{fold.run.name}.tar", data.getvalue())
    tail = "" if weights else "  (no weights; see train.log in the tar)"
    say(f"fold {fold.index} ended: exit {returncode}{', ' + why if why else ''} after "
        f"{fold.result['seconds']:.0f}s, {len(history)} epochs{tail}")


FIGURES = (("scans", "scans", "{:.0f}"), ("Dice", "dice_mean", "{:.4f}"),
           ("HC |diff| mean mm", "hc_abs_diff_mm_mean", "{:.2f}"),
           ("median mm", "hc_abs_diff_mm_median", "{:.2f}"),
           ("p95 mm", "hc_abs_diff_mm_p95", "{:.2f}"),
           ("> 10 mm", "scans_over_10mm", "{:.0f}"),
           ("flagged", "low_confidence_flags", "{:.0f}"))


def cv_table(summaries: list[Path]) -> str:
    """A Markdown table of 'evaluate --json' summaries, one row per fold, then the folds' mean
    +/- sd (sample sd) and the figures over all validation scans together."""
    loaded = [json.loads(Path(p).read_text()) for p in summaries]
    folds = [(s.get("split", {}).get("fold", "?"), s) for s in loaded]
    rows = ["| fold | " + " | ".join(name for name, _, _ in FIGURES) + " |",
            "| --- |" + " --- |" * len(FIGURES)]
    for fold, s in sorted(folds, key=lambda item: str(item[0])):
        rows.append(f"| {fold} | " + " | ".join(fmt.format(s[key]) for _, key, fmt in FIGURES)
                    + " |")
    values = {key: np.array([s[key] for s in loaded], float) for _, key, _ in FIGURES}
    sd = (lambda v: float(np.std(v, ddof=1))) if len(loaded) > 1 else (lambda v: float("nan"))
    rows.append("| mean +/- sd | " + " | ".join(
        f"{fmt.format(np.mean(values[key]))} +/- {fmt.format(sd(values[key]))}"
        for _, key, fmt in FIGURES) + " |")
    scans = values["scans"]
    pooled = {"scans": scans.sum(), "scans_over_10mm": values["scans_over_10mm"].sum(),
              "low_confidence_flags": values["low_confidence_flags"].sum(),
              "dice_mean": float(np.average(values["dice_mean"], weights=scans)),
              "hc_abs_diff_mm_mean": float(np.average(values["hc_abs_diff_mm_mean"],
                                                      weights=scans))}
    rows.append("| all scans | " + " | ".join(
        fmt.format(pooled[key]) if key in pooled else "" for _, key, fmt in FIGURES) + " |")
    return "\n".join(rows)
