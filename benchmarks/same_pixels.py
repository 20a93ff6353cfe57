"""Same pixels, same answer: HC of each validation scan as a PNG against the same pixels as a
DICOM whose ultrasound region is the whole frame, as a DICOM whose region is the sector's
bounding box, and inside a scanner screen (UI frame, text, grey bar, depth ticks; the scan's
own pixels untouched) as a DICOM (region: the scan) and as a PNG screenshot.

    python -m benchmarks.same_pixels --data DATA --out DIR [--limit N]

Measured through ``fetalview measure``'s pipeline (loader, pixel-size book, segmenter). A
DICOM's region bounds where the image area is searched for (``core.model.imagearea``); it
must not change the head found. Prints, per set, how many scans moved by more than 0.05 mm
and the largest change.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from pathlib import Path

import numpy as np

from benchmarks.screens import validation_scans
from fetalview.core.batch import Outputs, PixelSizeBook, run_batch
from fetalview.core.io.scans import load_scan
from fetalview.core.model.imagearea import Box
from training.screens import Screen, draw_screen, write_dicom

#: The agreement asked of the same pixels in any container.
SAME_MM = 0.05


def sector_box(pixels: np.ndarray) -> Box:
    """The bounding box of everything not black: where a scanner's region would sit."""
    rows, cols = np.nonzero(pixels > 0)
    return Box(int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1)


def write_sets(items, out: Path) -> dict[str, tuple[list[Path], PixelSizeBook]]:
    import cv2

    folders = {name: out / name for name in ("dicom_whole", "dicom_sector", "screen_dicom",
                                             "screen_png")}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    paths = {name: [] for name in folders}
    sizes = []
    for i, item in enumerate(items):
        pixels = load_scan(item.scan).pixels
        ps = item.pixel_size_mm
        rows, cols = pixels.shape
        stem = item.scan.stem
        whole = Screen(pixels, Box(0, 0, cols, rows), ps)
        sector = Screen(pixels, sector_box(pixels), ps)
        screen = draw_screen(pixels, ps, np.random.default_rng(1000 + i), mark_inside=False)
        for name, made in (("dicom_whole", whole), ("dicom_sector", sector),
                           ("screen_dicom", screen)):
            path = folders[name] / (stem + ".dcm")
            if not path.exists():
                write_dicom(path, made)
            paths[name].append(path)
        png = folders["screen_png"] / item.scan.name
        if not png.exists():
            cv2.imwrite(str(png), screen.pixels)
        paths["screen_png"].append(png)
        sizes.append([png.name, f"{ps:.9f}"])
    table = folders["screen_png"] / "screens_pixel_size.csv"
    with open(table, "w", newline="") as f:
        csv.writer(f).writerows([["filename", "pixel size(mm)"], *sizes])
    return {name: (paths[name], PixelSizeBook(csv_path=table) if name == "screen_png"
                   else PixelSizeBook()) for name in folders}


def _hc(rows: list[dict]) -> np.ndarray:
    return np.array([float(r["hc_mm"]) if r["hc_mm"] else math.nan for r in rows])


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, required=True, help="HC18-style folder")
    p.add_argument("--out", type=Path, required=True, help="folder for the files and results")
    p.add_argument("--limit", type=int, default=0, help="first N validation scans only")
    p.add_argument("--device", default="cpu")
    args = p.parse_args(argv)
    from fetalview.core.model.segmenter import Segmenter

    items = validation_scans(args.data)
    if args.limit:
        items = items[:args.limit]
    segmenter = Segmenter(device=args.device)
    hc18_csv = next(args.data.glob("*pixel_size*HC*.csv"))
    bare = _hc(run_batch([i.scan for i in items], segmenter, PixelSizeBook(csv_path=hc18_csv),
                         Outputs()))
    summary = {}
    for name, (paths, book) in write_sets(items, args.out).items():
        change = np.abs(_hc(run_batch(paths, segmenter, book, Outputs())) - bare)
        change = np.where(np.isnan(change), np.inf, change)
        worst = int(np.argmax(change))
        summary[name] = {"scans": len(items), "over_0.05mm": int(np.sum(change > SAME_MM)),
                         "max_change_mm": float(change[worst]),
                         "worst": items[worst].scan.name}
    command = "python -m benchmarks.same_pixels " + " ".join(sys.argv[1:] if argv is None
                                                             else argv)
    (args.out / "summary.json").write_text(json.dumps({"command": command, "sets": summary},
                                                      indent=2))
    print(f"{len(items)} validation scans, model {segmenter.model_version}")
    print("| the same pixels as | scans moved > 0.05 mm | largest change (scan) |")
    print("| --- | --- | --- |")
    for name, s in summary.items():
        print(f"| {name} | {s['over_0.05mm']} of {s['scans']} | {s['max_change_mm']:.3f} mm "
              f"({s['worst']}) |")


if __name__ == "__main__":
    main()
