"""Validation figures through exactly the app's pipeline: loader, segmenter, ellipse, HC.

The app runs the ONNX graph on ONNX Runtime; training and CUDA run the safetensors weights on
PyTorch. ``agreement_csv`` measures every validation scan through both and records how far
their HC lie apart, the check that the two files of the bundled model measure alike.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from fetalview.core.imageio import load_scan
from fetalview.core.measurement import measure
from fetalview.core.pixelsize import PixelSize
from fetalview.core.segmenter import Segmenter

from .dataset import find_labelled_scans, split_by_subject, target_mask

#: HC errors above this are counted as failures in the summary (the issue's threshold).
LARGE_ERROR_MM = 10.0
#: The ONNX and PyTorch paths must give every validation scan the same HC within this.
AGREEMENT_MM = 0.01


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
             seed: int = 0, device: str = "auto", tta: bool = False,
             csv_path: Path | None = None, json_path: Path | None = None,
             backend: str = "auto", agreement_csv: Path | None = None) -> dict:
    """Summary figures of ``weights`` (default: the bundled model) on the validation split.

    With ``agreement_csv``, each scan is also measured on PyTorch on the CPU and the per-scan
    HC of both paths is written there; the summary gains "agreement" (the largest difference).
    """
    scans = find_labelled_scans(data_dir)
    _, val_idx = split_by_subject([s.subject for s in scans], val_fraction, seed)
    segmenter = Segmenter(weights, device=device, tta=tta, backend=backend)
    reference = (Segmenter(weights, device="cpu", tta=tta, backend="torch")
                 if agreement_csv else None)
    rows, agreement = [], []
    for i in tqdm(val_idx, desc="evaluating", unit="scan"):
        item = scans[i]
        scan = load_scan(item.scan)
        truth = target_mask(item.annotation, scan.shape)
        mm = item.pixel_size_mm
        result = segmenter.segment(scan.pixels, PixelSize(mm, "HC18 CSV"))
        if reference is not None:
            agreement.append(_agreement_row(item.scan.name, result,
                                            reference.segment(scan.pixels), mm))
        if result.ellipse is None:
            rows.append({"filename": item.scan.name, "dice": 0.0, "hc_ref_mm": item.hc_mm,
                         "hc_mm": float("nan"), "hc_abs_diff_mm": float("inf"),
                         "hausdorff_mm": float("inf"), "confidence": 0.0,
                         "hc_uncertainty_mm": float("nan"), "status": "no_head"})
            continue
        hc = measure(result.ellipse, PixelSize(mm, "HC18 CSV")).hc
        rows.append({
            "filename": item.scan.name,
            "dice": dice(result.mask, truth),
            "hc_ref_mm": item.hc_mm,
            "hc_mm": hc,
            "hc_abs_diff_mm": abs(hc - item.hc_mm),
            "hausdorff_mm": hausdorff_px(result.mask, truth) * mm,
            "confidence": result.confidence,
            "hc_uncertainty_mm": result.hc_uncertainty_mm,
            "status": result.status,
        })
    diffs = np.array([r["hc_abs_diff_mm"] for r in rows])
    summary = {
        "scans": len(rows),
        "subjects": len({scans[i].subject for i in val_idx}),
        "split": {"val_fraction": val_fraction, "seed": seed, "by": "subject"},
        "weights": str(segmenter.weights),
        "model_version": segmenter.model_version,
        "runtime": segmenter.device_label,
        "tta": tta,
        "dice_mean": float(np.mean([r["dice"] for r in rows])),
        "dice_median": float(np.median([r["dice"] for r in rows])),
        "hc_abs_diff_mm_mean": float(np.mean(diffs)),
        "hc_abs_diff_mm_median": float(np.median(diffs)),
        "hc_abs_diff_mm_p95": float(np.percentile(diffs, 95)),
        "hausdorff_mm_mean": float(np.mean([r["hausdorff_mm"] for r in rows])),
        "scans_over_10mm": int(np.sum(diffs > LARGE_ERROR_MM)),
        "share_over_10mm": float(np.mean(diffs > LARGE_ERROR_MM)),
        "low_confidence_flags": int(sum(r["status"] != "ok" for r in rows)),
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
        Path(json_path).write_text(json.dumps(summary, indent=2))
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


def _write_csv(path: Path, rows: list[dict]) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def print_summary(s: dict) -> None:
    print(f"validation: {s['scans']} scans of {s['subjects']} subjects "
          f"(split by subject, seed {s['split']['seed']}), TTA {'on' if s['tta'] else 'off'}, "
          f"{s['runtime']}")
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
