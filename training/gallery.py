"""The model card's gallery: the validation scans with the largest HC errors, the model's
outline against the sonographer's, so a reader sees what the failures look like."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from fetalview.core.io.hc18 import annotation_ellipse
from fetalview.core.io.scans import load_scan
from fetalview.core.io.outputs import write_atomic
from fetalview.core.measure.pixelsize import PixelSize
from fetalview.core.model.segmenter import Segmenter

from .dataset import LabelledScan

TILE = (240, 320)  # rows, cols of one scan's tile
REFERENCE_BGR = (80, 220, 80)  # green: the sonographer's ellipse
MODEL_BGR = (40, 120, 255)  # orange: the model's outline


def _polyline(canvas: np.ndarray, points: np.ndarray, offset, scale: float, colour) -> None:
    pts = np.round((points - offset) * scale).astype(np.int32).reshape(-1, 1, 2)
    cv2.polylines(canvas, [pts], True, colour, 1, cv2.LINE_AA)


def tile(item: LabelledScan, row: dict, segmenter: Segmenter) -> np.ndarray:
    """One scan cropped around both outlines, captioned with the file and the HC error."""
    scan = load_scan(item.scan)
    reference = annotation_ellipse(cv2.imread(str(item.annotation), cv2.IMREAD_GRAYSCALE))
    result = segmenter.segment(scan.pixels, PixelSize(item.pixel_size_mm, "HC18 CSV"),
                               scan.regions)
    outlines = [reference.points(180)] + ([result.outline] if result.outline is not None else [])
    both = np.concatenate(outlines)
    lo = np.maximum(both.min(axis=0) - 20, 0)
    hi = np.minimum(both.max(axis=0) + 20, [scan.shape[1] - 1, scan.shape[0] - 1])
    rows, cols = TILE
    scale = min((rows - 36) / (hi[1] - lo[1] + 1), cols / (hi[0] - lo[0] + 1))
    crop = scan.pixels[int(lo[1]):int(hi[1]) + 1, int(lo[0]):int(hi[0]) + 1]
    crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    canvas = np.zeros((rows, cols, 3), np.uint8)
    canvas[36:36 + crop.shape[0], :crop.shape[1]] = crop[..., None]
    view = canvas[36:]
    _polyline(view, reference.points(180), lo, scale, REFERENCE_BGR)
    if result.outline is not None:
        _polyline(view, result.outline, lo, scale, MODEL_BGR)
    flag = "flagged" if row["status"] != "ok" else "NOT flagged"
    cv2.putText(canvas, f"{item.scan.name}  {flag}", (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.42,
                (255, 255, 255), 1, cv2.LINE_AA)
    cv2.putText(canvas, f"HC ref {row['hc_ref_mm']:.1f}  model {row['hc_mm']:.1f}  "
                f"({row['hc_mm'] - row['hc_ref_mm']:+.1f} mm)", (4, 30),
                cv2.FONT_HERSHEY_SIMPLEX, 0.42, (255, 255, 255), 1, cv2.LINE_AA)
    return canvas


def worst_gallery(rows: list[dict], items: list[LabelledScan], segmenter: Segmenter, out: Path,
                  count: int = 10, per_row: int = 5) -> list[str]:
    """A PNG of the ``count`` scans with the largest absolute HC error (two rows of five);
    returns their file names, worst first."""
    by_name = {i.scan.name: i for i in items}
    worst = sorted(rows, key=lambda r: -r["hc_abs_diff_mm"])[:count]
    tiles = [tile(by_name[r["filename"]], r, segmenter) for r in worst]
    tiles += [np.zeros_like(tiles[0])] * (-len(tiles) % per_row)
    grid = np.vstack([np.hstack(tiles[i:i + per_row]) for i in range(0, len(tiles), per_row)])
    # a 64-colour palette keeps the committed file small; gray levels and both outlines survive
    png = io.BytesIO()
    Image.fromarray(grid[..., ::-1]).quantize(64, dither=Image.Dither.NONE).save(
        png, format="PNG", optimize=True)
    write_atomic(out, png.getvalue())
    return [r["filename"] for r in worst]
