"""``fetalview measure``: many scans in, one CSV row each, and optional masks and overlays.

A bad file is reported in its own row and the batch goes on: one damaged scan in an archive
must not cost the measurements of the others.
"""

from __future__ import annotations

import csv
import io
import math
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING
from pathlib import Path

import cv2
from tqdm import tqdm

from .geometry import Ellipse
from .dicom import DicomError, looks_like_dicom
from .dicom_results import make_results
from .dicom_sr import Review
from .growth import growth_lines
from .hc18 import read_pixel_size_csv
from .imageio import Scan, ScanLoadError, list_scans, load_scan
from .measurement import Measurement, measure
from .overlay import caption_lines, render_overlay
from .pixelsize import PixelSize
from .segmentation import Segmentation
from .sidecar import write_atomic

if TYPE_CHECKING:  # the network (and torch) is only needed by whoever builds the segmenter
    from .segmenter import Segmenter

#: Exactly the columns the batch command's contract names (gestational age goes in overlays and
#: reports, where its formula and valid range can be stated).
CSV_COLUMNS = ["filename", "pixel_size_mm", "center_x_px", "center_y_px", "semi_axis_a_px",
               "semi_axis_b_px", "angle_deg", "hc_mm", "bpd_mm", "ofd_mm", "confidence", "status"]

#: Writes one scan's report to a path; the CLI passes one so that the core never imports Qt.
ReportWriter = Callable[[Path, Scan, Segmentation, Measurement], None]
#: Called with a scan's file name and its SR and SC just written (the CLI's ``--send``); it
#: reports its own failures, so that one refused scan does not stop the batch.
DicomSender = Callable[[str, list[Path]], None]
HC18_COLUMNS = ["filename", "center_x_mm", "center_y_mm", "semi_axes_a_mm", "semi_axes_b_mm",
                "angle_rad"]


def find_pixel_size_csv(folder: Path) -> Path | None:
    """An HC18-style pixel-size CSV lying beside the scans, if there is exactly one kind."""
    found = sorted(p for p in Path(folder).glob("*pixel_size*.csv") if p.is_file())
    return found[0] if found else None


class PixelSizeBook:
    """Answers 'what is this scan's pixel size, and says who?' in the documented order:
    the file itself (e.g. DICOM), an explicit ``--pixel-size``, a given CSV, a CSV beside the
    scan. Never a guess."""

    def __init__(self, fixed_mm: float | None = None, csv_path: Path | None = None):
        self.fixed = PixelSize(fixed_mm, "--pixel-size") if fixed_mm else None
        self.tables: dict[Path, tuple[str, dict]] = {}
        self.given = self._table(csv_path) if csv_path else None

    def _table(self, path: Path) -> tuple[str, dict]:
        path = Path(path).resolve()
        if path not in self.tables:
            self.tables[path] = (f"CSV {path.name}", read_pixel_size_csv(path))
        return self.tables[path]

    def lookup(self, scan_path: Path, from_file: PixelSize | None = None) -> PixelSize | None:
        if from_file is not None:
            return from_file
        if self.fixed is not None:
            return self.fixed
        tables = [self.given] if self.given else []
        beside = find_pixel_size_csv(scan_path.parent)
        if beside is not None:
            try:
                tables.append(self._table(beside))
            except (ValueError, OSError):  # unusable (damaged, unreadable): no mm, not a guess
                pass
        for source, rows in tables:
            if scan_path.name in rows:
                return PixelSize(rows[scan_path.name]["pixel_size_mm"], source)
        return None


@dataclass
class Outputs:
    csv: Path | None = None
    masks: Path | None = None
    overlays: Path | None = None
    hc18_submission: Path | None = None
    reports: Path | None = None
    write_report: ReportWriter | None = None
    dicom: Path | None = None  # <stem>_SR.dcm and <stem>_SC.dcm, for scans measured in mm
    send_dicom: DicomSender | None = None


def expand_paths(paths: list[Path]) -> list[Path]:
    """Scans named directly, plus the scans inside named folders, in a stable order."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out += list_scans(p)
        else:
            out.append(p)
    return out


def output_stems(paths: list[Path]) -> list[str]:
    """The name each scan's mask, overlay and report take: the scan's stem, unless another scan
    of the batch shares it (scan.png beside scan.dcm, IM0001 in two exam folders), where the
    suffix, then the folder, then the position keep them apart, so no export replaces another's."""
    namings = (lambda p: p.stem, lambda p: p.name.replace(".", "_"),
               lambda p: f"{p.parent.name}_{p.name}".replace(".", "_"))
    counts = [Counter(naming(p) for p in paths) for naming in namings]
    stems = []
    for i, p in enumerate(paths):
        unique = (naming(p) for naming, count in zip(namings, counts) if count[naming(p)] == 1)
        stems.append(next(unique, f"{p.stem}_{i + 1}"))
    return stems


def _fmt(v: float | None, digits: int = 3) -> str:
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def result_row(filename: str, ellipse: Ellipse | None, pixel_size: PixelSize | None,
               confidence: float | None, status: str) -> dict[str, str]:
    """One CSV row in ``CSV_COLUMNS``; shared with the app's folder export so both agree.

    Millimetre columns stay empty without a pixel size: never a guessed figure.
    """
    row = {c: "" for c in CSV_COLUMNS}
    row.update(filename=filename, confidence=_fmt(confidence), status=status,
               pixel_size_mm=_fmt(pixel_size.mm_per_pixel, 6) if pixel_size else "")
    if ellipse is None:
        return row
    e = ellipse
    row.update(center_x_px=_fmt(e.cx), center_y_px=_fmt(e.cy), semi_axis_a_px=_fmt(e.a),
               semi_axis_b_px=_fmt(e.b), angle_deg=_fmt(e.angle_deg))
    m = measure(e, pixel_size)
    if m.in_mm:
        row.update(hc_mm=_fmt(m.hc, 2), bpd_mm=_fmt(m.bpd, 2), ofd_mm=_fmt(m.ofd, 2))
    return row


def measure_one(segmenter: Segmenter, path: Path, book: PixelSizeBook,
                outputs: Outputs, frame: int = 0, stem: str | None = None) -> dict[str, str]:
    """One scan's CSV row; its mask, overlay and report are named ``stem`` (default: the
    scan's own stem)."""
    row = {c: "" for c in CSV_COLUMNS}
    row["filename"] = path.name
    try:
        scan = load_scan(path, frame if looks_like_dicom(path) else 0)
    except ScanLoadError as exc:
        row["status"] = f"error: {exc}"
        return row
    pixel_size = book.lookup(path, scan.pixel_size)
    result = segmenter.segment(scan.pixels, pixel_size)
    at_head = scan.pixel_size_for(result.ellipse, pixel_size)
    if at_head != pixel_size:
        pixel_size = at_head
        result = replace(result, pixel_size=at_head)
    row = result_row(path.name, result.ellipse, pixel_size, result.confidence, result.status)
    if result.ellipse is None:
        return row
    try:
        _write_extras(scan, result, measure(result.ellipse, pixel_size), outputs,
                      stem or path.stem)
    except (OSError, ValueError, DicomError) as exc:  # the measurement stays; a file is missing
        row["status"] = f"error: measured, but an output file was not written ({exc})"
    return row


def _write_extras(scan: Scan, result: Segmentation, m: Measurement, outputs: Outputs,
                  stem: str) -> None:
    """The mask, overlay, report and DICOM files asked for, named ``stem`` + .png / .pdf /
    _SR.dcm / _SC.dcm. A batch result is automatic: its SR says it was not reviewed."""
    if outputs.masks:
        _write_png(outputs.masks / (stem + ".png"), result.mask)
    lines = caption_lines(m, edited=False, model_version=result.model_version,
                          extra=growth_lines(m.hc if m.in_mm else None))
    if result.review_reason:
        lines.insert(0, result.review_reason)
    if outputs.overlays:
        _write_png(outputs.overlays / (stem + ".png"),
                   render_overlay(scan.pixels, result.ellipse, lines, result.outline))
    if outputs.reports and outputs.write_report:
        outputs.write_report(outputs.reports / (stem + ".pdf"), scan, result, m)
    if outputs.dicom and m.in_mm:  # an SR holds millimetres only
        written = make_results(scan, result.ellipse, m, Review(), result.model_version, lines,
                               outline=result.outline, review_note=result.review_reason
                               ).write(outputs.dicom, stem)
        if outputs.send_dicom:
            outputs.send_dicom(scan.path.name, written)


def _write_png(path: Path, image) -> None:
    """Encode in memory and write atomically: an interrupted run or a full disk leaves the
    previous file (or none), never half a PNG."""
    ok, data = cv2.imencode(".png", image)
    if not ok:
        raise OSError(f"cannot encode {path.name} as PNG")
    write_atomic(path, data.tobytes())


class OutputError(OSError):
    """A results file could not be written; ``rows`` still holds every measurement."""

    def __init__(self, message: str, rows: list[dict[str, str]]):
        super().__init__(message)
        self.rows = rows


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    """The whole CSV at once and atomically, so a kill or a full disk during the write leaves
    the previous results file intact."""
    text = io.StringIO()
    w = csv.writer(text)
    w.writerow(header)
    w.writerows(rows)
    write_atomic(path, text.getvalue().encode("utf-8"))


def write_results_csv(rows: list[dict[str, str]], path: Path) -> None:
    _write_csv(path, CSV_COLUMNS, [[r[c] for c in CSV_COLUMNS] for r in rows])


def write_hc18_submission(rows: list[dict[str, str]], path: Path) -> None:
    """The challenge's format: ellipse in mm, angle in radians; unmeasured scans are left out."""
    out = []
    for r in rows:
        if not r["pixel_size_mm"] or not r["center_x_px"]:
            continue
        ps = float(r["pixel_size_mm"])
        out.append([r["filename"], f"{float(r['center_x_px']) * ps:.6f}",
                    f"{float(r['center_y_px']) * ps:.6f}",
                    f"{float(r['semi_axis_a_px']) * ps:.6f}",
                    f"{float(r['semi_axis_b_px']) * ps:.6f}",
                    f"{math.radians(float(r['angle_deg'])) % math.pi:.6f}"])
    _write_csv(path, HC18_COLUMNS, out)


def run_batch(paths: list[Path], segmenter: Segmenter, book: PixelSizeBook,
              outputs: Outputs, frame: int = 0) -> list[dict[str, str]]:
    """Measure every scan (``frame`` of DICOM cine loops; still images have only frame 0)."""
    for folder in (outputs.masks, outputs.overlays, outputs.reports, outputs.dicom):
        if folder:
            folder.mkdir(parents=True, exist_ok=True)
    rows = []
    scans = expand_paths(paths)
    for path, stem in tqdm(zip(scans, output_stems(scans)), total=len(scans), desc="measuring",
                           unit="scan", file=sys.stderr):
        try:
            rows.append(measure_one(segmenter, path, book, outputs, frame, stem))
        except Exception as exc:  # one scan's failure must not end the batch
            rows.append({**{c: "" for c in CSV_COLUMNS}, "filename": path.name,
                         "status": f"error: {type(exc).__name__}: {exc}"})
    for path, write in ((outputs.csv, write_results_csv),
                        (outputs.hc18_submission, write_hc18_submission)):
        if path:
            try:
                write(rows, path)
            except OSError as exc:
                raise OutputError(f"cannot write {path}: {exc.strerror or exc}", rows) from exc
    return rows
