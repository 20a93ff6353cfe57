"""HC on the validation scans bare against the same scans drawn into scanner screens, through
``fetalview measure``'s own pipeline (loader, pixel-size book, segmenter, ellipse, HC).

    python -m benchmarks.screens --data DATA --out DIR [--passes 1|2] [--limit N] [--rerun]

Writes DIR/screens_dicom/*.dcm (the ultrasound region given in the file) and
DIR/screens_png/*.png with DIR/screens_png/screens_pixel_size.csv (the pixel size given, as
a user would), each scan drawn with its own fixed seed, then measures three sets: bare (the
original files with the HC18 CSV), screen DICOM, screen PNG. Screens and each set's results
CSV are kept in DIR and reused (``--rerun`` measures again), so a second look costs nothing.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from pathlib import Path

import numpy as np

from fetalview.core.batch import Outputs, PixelSizeBook, run_batch
from fetalview.core.io.scans import load_scan

from training.dataset import find_labelled_scans, split_by_subject
from training.evaluate import LARGE_ERROR_MM
from training.screens import draw_screen, write_dicom

SETS = ("bare", "screen DICOM", "screen PNG")


def validation_scans(data: Path, val_fraction: float = 0.2, seed: int = 0):
    """The validation split of ``training.evaluate`` (by subject, same fraction and seed)."""
    scans = find_labelled_scans(data)
    _, val_idx = split_by_subject([s.subject for s in scans], val_fraction, seed)
    return [scans[i] for i in val_idx]


def write_screens(items, out: Path) -> tuple[list[Path], list[Path], Path]:
    """Each scan as a screen DICOM and a screen PNG (seed: the scan's position), written once."""
    import cv2

    dicom_dir, png_dir = out / "screens_dicom", out / "screens_png"
    dicom_dir.mkdir(parents=True, exist_ok=True)
    png_dir.mkdir(parents=True, exist_ok=True)
    dicoms, pngs, sizes = [], [], []
    for i, item in enumerate(items):
        dcm, png = dicom_dir / (item.scan.stem + ".dcm"), png_dir / item.scan.name
        if not (dcm.exists() and png.exists()):
            screen = draw_screen(load_scan(item.scan).pixels, item.pixel_size_mm,
                                 np.random.default_rng(1000 + i))
            write_dicom(dcm, screen)
            cv2.imwrite(str(png), screen.pixels)
        dicoms.append(dcm)
        pngs.append(png)
        sizes.append([png.name, f"{item.pixel_size_mm:.9f}"])
    table = png_dir / "screens_pixel_size.csv"
    with open(table, "w", newline="") as f:
        csv.writer(f).writerows([["filename", "pixel size(mm)"], *sizes])
    return dicoms, pngs, table


def _measured(segmenter, paths: list[Path], book: PixelSizeBook, cache: Path):
    if cache.exists():
        with open(cache, newline="") as f:
            return list(csv.DictReader(f))
    return run_batch(paths, segmenter, book, Outputs(csv=cache))


def summarise(rows: list[dict], reference: list[float], bare: list[float] | None) -> dict:
    hc = np.array([float(r["hc_mm"]) if r["hc_mm"] else math.nan for r in rows])
    err = np.abs(hc - np.array(reference))
    err = np.where(np.isnan(err), np.inf, err)
    out = {"scans": len(rows), "hc_abs_mm_mean": float(np.mean(err[np.isfinite(err)])),
           "hc_abs_mm_median": float(np.median(err)), "hc_abs_mm_p95": float(np.percentile(err, 95)),
           "unmeasured": int(np.sum(~np.isfinite(err))),
           "over_10mm": int(np.sum(err > LARGE_ERROR_MM)),
           "over_10mm_unflagged": int(sum(e > LARGE_ERROR_MM and r["status"] == "ok"
                                          for e, r in zip(err, rows))),
           "flagged": int(sum(r["status"] != "ok" for r in rows))}
    if bare is not None:
        d = np.abs(hc - np.array(bare))
        out["vs_bare_mm_mean"] = float(np.nanmean(d))
        out["vs_bare_mm_max"] = float(np.nanmax(d))
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, required=True, help="HC18-style folder")
    p.add_argument("--out", type=Path, required=True, help="folder for screens and results")
    p.add_argument("--passes", type=int, choices=[1, 2], default=1,
                   help="1 (the app's default) or 2: locate, then delineate")
    p.add_argument("--limit", type=int, default=0, help="first N validation scans only")
    p.add_argument("--device", default="cpu")
    p.add_argument("--rerun", action="store_true", help="measure again, ignoring cached results")
    args = p.parse_args(argv)
    from fetalview.core.model.segmenter import Segmenter

    items = validation_scans(args.data)
    if args.limit:
        items = items[:args.limit]
    dicoms, pngs, table = write_screens(items, args.out)
    segmenter = Segmenter(device=args.device, passes=args.passes)
    hc18_csv = next(args.data.glob("*pixel_size*HC*.csv"))
    runs = {"bare": ([i.scan for i in items], PixelSizeBook(csv_path=hc18_csv)),
            "screen DICOM": (dicoms, PixelSizeBook()),
            "screen PNG": (pngs, PixelSizeBook(csv_path=table))}
    tag = f"p{args.passes}_n{len(items)}"
    results = {}
    for name, (paths, book) in runs.items():
        cache = args.out / f"results_{name.replace(' ', '_')}_{tag}.csv"
        if args.rerun:
            cache.unlink(missing_ok=True)
        results[name] = _measured(segmenter, paths, book, cache)
    reference = [i.hc_mm for i in items]
    bare_hc = [float(r["hc_mm"]) if r["hc_mm"] else math.nan for r in results["bare"]]
    summary = {name: summarise(rows, reference, None if name == "bare" else bare_hc)
               for name, rows in results.items()}
    command = "python -m benchmarks.screens " + " ".join(sys.argv[1:] if argv is None else argv)
    (args.out / f"summary_{tag}.json").write_text(json.dumps(
        {"command": command, "passes": args.passes, "sets": summary}, indent=2))
    print(f"{len(items)} validation scans, {args.passes} pass(es), model "
          f"{segmenter.model_version}")
    print("| set | mean abs HC error | median | 95th pct | > 10 mm off (unflagged) | flagged "
          "| mean / max abs HC change vs bare |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, s in summary.items():
        change = (f"{s['vs_bare_mm_mean']:.2f} / {s['vs_bare_mm_max']:.2f} mm"
                  if "vs_bare_mm_mean" in s else "")
        print(f"| {name} | {s['hc_abs_mm_mean']:.2f} mm | {s['hc_abs_mm_median']:.2f} mm | "
              f"{s['hc_abs_mm_p95']:.2f} mm | {s['over_10mm']} ({s['over_10mm_unflagged']}) | "
              f"{s['flagged']} | {change} |")


if __name__ == "__main__":
    main()
