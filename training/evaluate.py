"""Validation figures through exactly the app's pipeline: loader, segmenter, ellipse, HC.

The app runs the ONNX graph on OpenVINO; training and CUDA run the safetensors weights on
PyTorch. ``agreement_csv`` measures every validation scan through both and records how far
their HC lie apart, the check that the two files of the bundled model measure alike.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from fetalview.core.io.scans import load_scan
from fetalview.core.measure.biometry import measure
from fetalview.core.io.outputs import write_atomic
from fetalview.core.measure.pixelsize import PixelSize
from fetalview.core.model.segmenter import Segmenter

from .dataset import find_labelled_scans, split_by_subject, target_mask

#: HC errors above this are counted as failures in the summary (the issue's threshold).
LARGE_ERROR_MM = 10.0
#: The ONNX and PyTorch paths must give every validation scan the same HC within this.
AGREEMENT_MM = 0.01
#: Reference-HC bands the model card reports separately: early second trimester and before,
#: mid-pregnancy, third trimester. Errors grow with the head, and a bias that one band hides in
#: the mean shows up here.
HC_BANDS_MM = ((0.0, 150.0), (150.0, 250.0), (250.0, math.inf))


def dice(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a > 127, b > 127
    total = a.sum() + b.sum()
    return float(2 * (a & b).sum() / total) if total else 1.0


def hausdorff_px(a: np.ndarray, b: np.ndarray) -> float:
    """Symmetric Hausdorff distance between the boundaries of two masks, in pixels."""
    def boundary(m):
        contours, _ = cv2.findContours((m > 127).astype(np.uint8), cv2.RETR_EXTERNAL,
                                       cv2.CHAIN_APPROX_NONE)
        return np.concatenate([c.reshape(-1, 2) for c in contours]) if contours else None

    pa, pb = boundary(a), boundary(b)
    if pa is None or pb is None:
        return float("inf")

    def directed(p, m):
        outline = np.full(m.shape, 255, np.uint8)
        outline[p[:, 1], p[:, 0]] = 0
        dist = cv2.distanceTransform(outline, cv2.DIST_L2, 5)
        return dist

    da, db = directed(pa, a), directed(pb, b)
    return float(max(db[pa[:, 1], pa[:, 0]].max(), da[pb[:, 1], pb[:, 0]].max()))


def evaluate(data_dir: Path, weights: Path | None = None, val_fraction: float = 0.2,
             seed: int = 0, device: str = "auto", tta: bool = False, passes: int = 1,
             folds: int = 0, fold: int = 0,
             csv_path: Path | None = None, json_path: Path | None = None,
             backend: str = "auto", agreement_csv: Path | None = None,
             reuse: Path | None = None) -> dict:
    """Summary figures of ``weights`` (default: the bundled model) on the validation split
    (``folds``/``fold``: a cross-validation fold, see ``split_by_subject``).

    With ``agreement_csv``, each scan is also measured on PyTorch on the CPU and the per-scan
    HC of both paths is written there; the summary gains "agreement" (the largest difference).
    ``reuse``: the per-scan CSV of an earlier run with the same weights, pipeline and options,
    whose scans are taken from it instead of being measured again (not with agreement_csv).
    """
    scans = find_labelled_scans(data_dir)
    _, val_idx = split_by_subject([s.subject for s in scans], val_fraction, seed, folds, fold)
    segmenter = Segmenter(weights, device=device, tta=tta, backend=backend, passes=passes)
    reference = (Segmenter(weights, device="cpu", tta=tta, backend="torch", passes=passes)
                 if agreement_csv else None)
    earlier = read_rows(reuse) if reuse is not None and reference is None \
        and Path(reuse).is_file() else {}
    rows, agreement = [], []
    for i in tqdm(val_idx, desc="evaluating", unit="scan"):
        item = scans[i]
        if item.scan.name in earlier:
            rows.append(earlier[item.scan.name])
            continue
        scan = load_scan(item.scan)
        truth = target_mask(item.annotation, scan.shape)
        mm = item.pixel_size_mm
        result = segmenter.segment(scan.pixels, PixelSize(mm, "HC18 CSV"), scan.regions)
        if reference is not None:
            agreement.append(_agreement_row(item.scan.name, result,
                                            reference.segment(scan.pixels, None, scan.regions),
                                            mm))
        if result.ellipse is None:
            rows.append({"filename": item.scan.name, "dice": 0.0, "hc_ref_mm": item.hc_mm,
                         "hc_mm": float("nan"), "hc_diff_mm": float("nan"),
                         "hc_abs_diff_mm": float("inf"),
                         "hausdorff_mm": float("inf"), "confidence": 0.0,
                         "hc_uncertainty_mm": float("nan"), "cephalic_index": float("nan"),
                         "status": "no_head"})
            continue
        figures = measure(result.ellipse, PixelSize(mm, "HC18 CSV"))
        hc = figures.hc
        rows.append({
            "filename": item.scan.name,
            "dice": dice(result.mask, truth),
            "hc_ref_mm": item.hc_mm,
            "hc_mm": hc,
            "hc_diff_mm": hc - item.hc_mm,
            "hc_abs_diff_mm": abs(hc - item.hc_mm),
            "hausdorff_mm": hausdorff_px(result.mask, truth) * mm,
            "confidence": result.confidence,
            "hc_uncertainty_mm": result.hc_uncertainty_mm,
            "cephalic_index": figures.cephalic_index,
            "status": result.status,
        })
    diffs = np.array([r["hc_abs_diff_mm"] for r in rows])
    summary = {
        "scans": len(rows),
        "subjects": len({scans[i].subject for i in val_idx}),
        "split": ({"folds": folds, "fold": fold, "seed": seed, "by": "subject"} if folds > 1
                  else {"val_fraction": val_fraction, "seed": seed, "by": "subject"}),
        "weights": str(segmenter.weights),
        "model_version": segmenter.model_version,
        "runtime": segmenter.device_label,
        "tta": tta,
        "passes": passes,
        "dice_mean": float(np.mean([r["dice"] for r in rows])),
        "dice_median": float(np.median([r["dice"] for r in rows])),
        "hc_abs_diff_mm_mean": float(np.mean(diffs)),
        "hc_abs_diff_mm_median": float(np.median(diffs)),
        "hc_abs_diff_mm_p95": float(np.percentile(diffs, 95)),
        "hausdorff_mm_mean": float(np.mean([r["hausdorff_mm"] for r in rows])),
        "scans_over_10mm": int(np.sum(diffs > LARGE_ERROR_MM)),
        "share_over_10mm": float(np.mean(diffs > LARGE_ERROR_MM)),
        "low_confidence_flags": int(sum(r["status"] != "ok" for r in rows)),
        "bands": band_figures(rows),
    }
    if csv_path:
        _write_csv(csv_path, rows)
    if reference is not None:
        _write_csv(agreement_csv, agreement)
        summary["agreement"] = {
            "reference": reference.device_label,
            "scans": len(agreement),
            "hc_abs_diff_mm_max": max(r["hc_abs_diff_mm"] for r in agreement),
            "dice_min": min(r["dice_between"] for r in agreement),
            "within_mm": AGREEMENT_MM,
        }
    if json_path:
        write_atomic(Path(json_path), json.dumps(summary, indent=2).encode())
    return summary


def _agreement_row(name: str, result, reference, mm: float) -> dict:
    """One scan measured by both paths; a head found by only one counts as infinitely apart."""
    if result.ellipse is None or reference.ellipse is None:
        both_none = result.ellipse is None and reference.ellipse is None
        return {"filename": name, "hc_mm": float("nan"), "hc_mm_reference": float("nan"),
                "hc_abs_diff_mm": 0.0 if both_none else float("inf"),
                "dice_between": 1.0 if both_none else 0.0}
    size = PixelSize(mm, "HC18 CSV")
    hc, hc_ref = measure(result.ellipse, size).hc, measure(reference.ellipse, size).hc
    return {"filename": name, "hc_mm": hc, "hc_mm_reference": hc_ref,
            "hc_abs_diff_mm": abs(hc - hc_ref), "dice_between": dice(result.mask, reference.mask)}


def read_rows(path: Path) -> dict[str, dict]:
    """Per-scan rows of an ``evaluate --csv`` file by file name, numbers as floats."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        for k, v in r.items():
            if k not in ("filename", "status"):
                r[k] = float(v) if v != "" else math.nan
        r["hc_diff_mm"] = r["hc_mm"] - r["hc_ref_mm"]  # older files lack it
    return {r["filename"]: r for r in rows}


def band_figures(rows: list[dict]) -> list[dict]:
    """Per reference-HC band: scans, mean absolute and signed HC error (model minus reference),
    scans more than LARGE_ERROR_MM off, and the share flagged for review (or with no head)."""
    out = []
    for lo, hi in HC_BANDS_MM:
        band = [r for r in rows if lo <= float(r["hc_ref_mm"]) < hi]
        if not band:
            continue
        diffs = np.array([float(r["hc_diff_mm"]) for r in band])
        measured = diffs[np.isfinite(diffs)]
        out.append({"band": (f"< {hi:.0f} mm" if lo == 0 else f"> {lo:.0f} mm" if hi == math.inf
                             else f"{lo:.0f}-{hi:.0f} mm"),
                    "scans": len(band),
                    "hc_abs_diff_mm_mean": (float(np.mean(np.abs(measured))) if len(measured)
                                            else math.nan),
                    "hc_bias_mm": float(np.mean(measured)) if len(measured) else math.nan,
                    "scans_over_10mm": int(np.sum(~(np.abs(diffs) <= LARGE_ERROR_MM))),
                    "flagged_share": float(np.mean([r["status"] != "ok" for r in band]))})
    return out


def _write_csv(path: Path, rows: list[dict]) -> None:
    """Written whole or not at all: a kill or a bad row leaves the previous file."""
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    write_atomic(Path(path), text.getvalue().encode())


def print_summary(s: dict) -> None:
    print(f"validation: {s['scans']} scans of {s['subjects']} subjects "
          f"(split by subject, seed {s['split']['seed']}), TTA {'on' if s['tta'] else 'off'}, "
          f"{s['runtime']}, {s.get('passes', 1)} pass(es)")
    print(f"  Dice            mean {s['dice_mean']:.4f}  median {s['dice_median']:.4f}")
    print(f"  HC |diff| mm    mean {s['hc_abs_diff_mm_mean']:.2f}  median "
          f"{s['hc_abs_diff_mm_median']:.2f}  p95 {s['hc_abs_diff_mm_p95']:.2f}")
    print(f"  Hausdorff mm    mean {s['hausdorff_mm_mean']:.2f}")
    print(f"  > {LARGE_ERROR_MM:.0f} mm off     {s['scans_over_10mm']} "
          f"({100 * s['share_over_10mm']:.1f}%)")
    print(f"  flagged low confidence / no head: {s['low_confidence_flags']}")
    if "agreement" in s:
        a = s["agreement"]
        print(f"  against {a['reference']}: largest per-scan HC difference "
              f"{a['hc_abs_diff_mm_max']:.4f} mm (limit {a['within_mm']} mm), "
              f"smallest Dice between the two {a['dice_min']:.4f}")
    for b in s.get("bands", []):
        print(f"  HC {b['band']:<12} {b['scans']:4d} scans  |diff| {b['hc_abs_diff_mm_mean']:.2f} "
              f"mm  bias {b['hc_bias_mm']:+.2f} mm  > {LARGE_ERROR_MM:.0f} mm {b['scans_over_10mm']}"
              f"  flagged {100 * b['flagged_share']:.0f}%")
