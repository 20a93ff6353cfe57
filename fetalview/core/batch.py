"""``fetalview measure``: many scans in, one CSV row each, and optional masks and overlays.

A bad file is reported in its own row and the batch goes on: one damaged scan in an archive
must not cost the measurements of the others. Every output is planned before any work
(``plan_batch``, by the rule of ``outputs``: none replaces an input or another output), and the
results CSV grows row by row in a ``.partial`` file, so a killed batch keeps what it measured.
"""

from __future__ import annotations

import math
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import cv2
from tqdm import tqdm

from fetalview.core.io.dicom import DicomError, looks_like_dicom
from fetalview.core.io.hc18 import read_pixel_size_csv
from fetalview.core.io.outputs import (GrowingFile, OutputPlan, output_name, reason,
                                       write_outputs)
from fetalview.core.io.ownfiles import mark_png
from fetalview.core.io.safetext import csv_line, display_name, printable, scan_names
from fetalview.core.io.scans import NOT_OBSTETRIC, Scan, ScanLoadError, list_scans, load_scan
from fetalview.core.measure.pixelsize import PixelSize, PixelSizeError
from fetalview.core.model.segmentation import Segmentation
from fetalview.core.record.model_result import with_model_result
from fetalview.core.record.patients import file_fields, pregnancy_record
from fetalview.core.record.result import ScanResult, build_result
from fetalview.core.record.sidecar import Annotation
from fetalview.core.results.overlay import annotated_image
from fetalview.core.results.tables import CSV_COLUMNS, empty_row, result_row
from fetalview.core.serial_reports import SerialReports

if TYPE_CHECKING:  # the network (and torch) is only needed by whoever builds the segmenter
    from fetalview.core.model.segmenter import Segmenter

#: Writes one scan's report to a path; the CLI passes one so that the core never imports Qt.
ReportWriter = Callable[[Path, Scan, ScanResult], None]
#: Called with a scan's file name and its SR and SC just written (the CLI's ``--send``); it
#: reports its own failures, so that one refused scan does not stop the batch.
DicomSender = Callable[[str, list[Path]], None]
BURNED_IN_NOTE = ("the file says patient details are burned into its pixels (Burned In "
                  "Annotation YES): no overlay or report written; --allow-burned-in writes them")
HC18_COLUMNS = ["filename", "center_x_mm", "center_y_mm", "semi_axes_a_mm", "semi_axes_b_mm",
                "angle_rad"]
#: The status of a scan that was measured but whose mask, overlay or report was not written.
NOT_WRITTEN = "error: measured, but an output file was not written"
#: Each per-scan output: its option, the ``Outputs`` field, its role in the name, its extension.
PER_SCAN = (("--masks", "masks", "mask", ".png"), ("--overlays", "overlays", "overlay", ".png"),
            ("--reports", "reports", "report", ".pdf"))
#: Said in the row of a scan that ``--edd`` cannot date: the file states no exam date.
NO_EXAM_DATE_NOTE = ("no gestational age: the file states no exam date to count from the EDD "
                     "(a PNG/JPEG never does; DICOM Study, Acquisition or Content Date)")
#: Said of each scan measured in pixels only when DICOM output was asked for: the SR holds
#: millimetres only, so such a scan gets none, and a silent gap looks like a lost file.
NO_DICOM_IN_PIXELS = ("no DICOM output: measured in pixels only, as no pixel size is known "
                      "(a DICOM SR holds millimetres; --pixel-size or --pixel-size-csv gives one)")


def pixels_only(row: dict[str, str]) -> bool:
    """Whether ``row`` is a scan whose head was measured, in pixels only (no pixel size)."""
    return bool(row["center_x_px"]) and not row["hc_mm"]


def pixel_size_csvs(folder: Path) -> list[Path]:
    """The HC18-style pixel-size CSVs lying beside the scans (the first is the one used)."""
    return sorted(p for p in Path(folder).glob("*pixel_size*.csv") if p.is_file())


class PixelSizeBook:
    """Answers 'what is this scan's pixel size, and says who?' in the documented order:
    the file itself (e.g. DICOM), an explicit ``--pixel-size``, a given CSV, a CSV beside the
    scan. Never a guess."""

    def __init__(self, fixed_mm: float | None = None, csv_path: Path | None = None):
        self.fixed = PixelSize(fixed_mm, "--pixel-size") if fixed_mm is not None else None
        self.tables: dict[Path, tuple[str, dict]] = {}
        self.given = self._table(csv_path) if csv_path else None
        self.given_path = csv_path
        self.beside: dict[Path, tuple[str, dict] | None] = {}  # per folder, looked up once

    def _table(self, path: Path) -> tuple[str, dict]:
        path = Path(path).resolve()
        if path not in self.tables:
            self.tables[path] = (f"CSV {path.name}", read_pixel_size_csv(path))
        return self.tables[path]

    def lookup(self, scan_path: Path, from_file: PixelSize | None = None) -> PixelSize | None:
        """PixelSizeError when the CSV row for the scan is not a plausible pixel size."""
        if from_file is not None:
            return from_file
        if self.fixed is not None:
            return self.fixed
        tables = [self.given] if self.given else []
        if scan_path.parent not in self.beside:
            self.beside[scan_path.parent] = self._table_beside(scan_path.parent)
        if self.beside[scan_path.parent] is not None:
            tables.append(self.beside[scan_path.parent])
        for source, rows in tables:
            if scan_path.name in rows:
                return PixelSize(rows[scan_path.name]["pixel_size_mm"], source)
        return None

    def _table_beside(self, folder: Path) -> tuple[str, dict] | None:
        beside = pixel_size_csvs(folder)
        if not beside:
            return None
        try:
            return self._table(beside[0])
        except (ValueError, OSError):  # unusable (damaged, unreadable): no mm, not a guess
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
    #: Write overlays and reports of scans whose pixels hold patient details (``Scan.burned_in``)
    allow_burned_in: bool = False
    #: Patient name and ID of the run's PNG/JPEG scans (``patient_name``, ``patient_id``), for
    #: the new study of their DICOM results; DICOM scans keep their own.
    patient: dict[str, str] | None = None
    #: The pregnancy's dating for every scan of the run (``--edd``: ``{"method": "edd", ...}``),
    #: one patient's: each scan's GA follows from its own exam date.
    dating: dict | None = None


@dataclass
class Batch:
    """The scans of a run, each with its name in the CSV (``safetext.scan_names``) and the stem
    its outputs are named by, checked against the outputs (``plan_batch``)."""
    scans: list[Path]
    names: list[str]
    stems: list[str]
    book: PixelSizeBook
    outputs: Outputs
    #: What the user should know before the rows (temporary files of a killed run removed).
    notes: list[str] = field(default_factory=list)
    #: The scans whose report, written after the measuring pass (``--edd``, see
    #: ``serial_reports``), could not be written: their rows were written before and do not
    #: say so (``measure_batch`` fills it and says each on standard error).
    reports_not_written: list[str] = field(default_factory=list)


def expand_paths(paths: list[Path]) -> list[Path]:
    """Scans named directly, plus the scans inside named folders, in a stable order."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out += list_scans(p)
        else:
            out.append(p)
    return out


def plan_batch(paths: list[Path], book: PixelSizeBook, outputs: Outputs) -> Batch:
    """List the scans and check every output against them before any work: raises
    OutputRefused (nothing written, output folders aside) when an output would replace a scan,
    a pixel-size CSV or another output of the run."""
    scans = expand_paths([Path(p) for p in paths])
    if outputs.dating:
        _one_patient(scans)
    stems = output_stems(scans)
    inputs = list(scans) + ([book.given_path] if book.given_path else [])
    for folder in dict.fromkeys(p.parent for p in scans):
        inputs += pixel_size_csvs(folder)
    plan = OutputPlan(inputs)
    for path, what in ((outputs.csv, "--out"), (outputs.hc18_submission, "--hc18-submission")):
        if path:
            plan.file(path, what)
    for option, name, role, ext in PER_SCAN:
        folder = getattr(outputs, name)
        if folder and (name != "reports" or outputs.write_report):
            plan.folder(folder, option, [output_name(s, role, ext) for s in stems])
    if outputs.dicom:
        from fetalview.core.results.dicom_results import SC_SUFFIX, SR_SUFFIX  # imports highdicom (~1 s): only now
        plan.folder(outputs.dicom, "--dicom-out",
                    [s + suffix for s in stems for suffix in (SR_SUFFIX, SC_SUFFIX)])
    plan.make_folders()
    removed = plan.remove_stale_temporaries()
    notes = [f"removed {len(removed)} temporary files left by a fetalview run that was killed "
             f"({', '.join(display_name(p) for p in removed[:3])}"
             f"{', ...' if len(removed) > 3 else ''})"] if removed else []
    return Batch(scans, scan_names(scans), stems, book, outputs, notes)


def _one_patient(scans: list[Path]) -> None:
    """Refuse (ValueError, before any work) to date the scans of more than one patient with
    one pregnancy's dating: the Patient IDs their DICOM headers state must agree."""
    ids = sorted({pid for p in scans if (pid := file_fields(p).get("patient_id"))})
    if len(ids) > 1:
        shown = ", ".join(printable(i) for i in ids[:3]) + (", ..." if len(ids) > 3 else "")
        raise ValueError(f"--edd dates one patient's pregnancy, but these scans are of "
                         f"{len(ids)} patients ({shown}): measure each patient's scans apart")


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


def measure_one(segmenter: Segmenter, path: Path, book: PixelSizeBook,
                outputs: Outputs, frame: int = 0, stem: str | None = None,
                name: str | None = None, later: SerialReports | None = None) -> dict[str, str]:
    """One scan's CSV row, naming it ``name`` (default: its file name, as ``scan_names``
    writes it); its mask, overlay and report are named after ``stem`` (default: the scan's own
    stem). ``path`` keeps the real bytes of a name that is not UTF-8. ``later``: where its
    report waits for the patient's other scans (``--edd``), instead of being written now."""
    name = name or scan_names([path])[0]
    try:
        scan = load_scan(path, frame if looks_like_dicom(path) else 0)
    except ScanLoadError as exc:
        return empty_row(name, f"error: {exc}")
    notes = list(scan.notes)
    try:
        pixel_size = book.lookup(path, scan.pixel_size)
    except PixelSizeError as exc:
        pixel_size = None
        notes.append(f"{exc}; measured in pixels only")
    if scan.burned_in and not outputs.allow_burned_in and (outputs.overlays or outputs.reports):
        outputs = replace(outputs, overlays=None, reports=None)
        notes.append(BURNED_IN_NOTE)
    for note in notes:
        tqdm.write(printable(f"fetalview: {name}: {note}"), file=sys.stderr)
    result = segmenter.segment(scan.pixels, pixel_size, scan.regions)
    at_head = scan.pixel_size_for(result.ellipse, pixel_size)
    if at_head != pixel_size:
        pixel_size = at_head
        result = replace(result, pixel_size=at_head)
    exam = scan.metadata.get("exam_date")
    record = batch_result(name, scan, result,
                          pregnancy_record(outputs.dating, {}, exam) if outputs.dating else None)
    if result.ellipse is None:
        return result_row(record)
    other = scan.metadata.get(NOT_OBSTETRIC)  # measured, but flagged
    held = withheld(scan, record) if outputs.dicom else None
    undated = NO_EXAM_DATE_NOTE if outputs.dating and not exam else None
    status = ("low_confidence" if other else record.status) + "".join(
        f"; {note}" for note in (held or other, undated) if note)
    if held:
        tqdm.write(printable(f"fetalview: {name}: {held}"), file=sys.stderr)
        outputs = replace(outputs, dicom=None)
    if later is not None and outputs.reports and outputs.write_report:
        later.keep(name, scan, record, batch_annotation(scan, result), stem or path.stem)
        outputs = replace(outputs, reports=None)
    failed = _write_extras(scan, result, record, outputs, stem or path.stem)
    if failed:  # the measurement stays; a file is missing
        return result_row(record, f"{NOT_WRITTEN} ({'; '.join(failed)})"
                          + (f"; {held}" if held else ""))
    return result_row(record, status)


def withheld(scan: Scan, record: ScanResult) -> str | None:
    """Why no SR or annotated image of this automatic result may leave on its own, in words;
    None when it may. A result the model itself doubts, or of an image that is not an
    obstetric ultrasound (a cardiac echo measured 'HC 174 mm'), would reach a reporting system
    as a head circumference: it waits for a clinician, who confirms it in the app and sends
    it from there."""
    why = scan.metadata.get(NOT_OBSTETRIC) or (
        f"flagged for review ({', '.join(record.review_reasons)})" if record.flagged else None)
    if why is None:
        return None
    return (f"no DICOM SR or image written or sent: {why}; open it in fetalview, confirm it "
            "and send it from there")


def batch_result(name: str, scan: Scan, result: Segmentation,
                 pregnancy: dict | None = None) -> ScanResult:
    """The record of a model result that no person has seen: built as the app builds it from
    the annotation the model's result makes, so both say the same. The BPD is outer-to-outer
    (a batch places no calipers). ``pregnancy``: the record dating the scan (``--edd``)."""
    return build_result(name, batch_annotation(scan, result), scan.pixels,
                        frame_count=scan.metadata.get("frames", 1), outline=result.outline,
                        pregnancy=pregnancy)


def batch_annotation(scan: Scan, result: Segmentation) -> Annotation:
    """The annotation a model result makes of ``scan``, as if saved unreviewed."""
    return with_model_result(Annotation(scan.path.name, pixel_size=result.pixel_size,
                                        frame=scan.metadata.get("frame", 0)), result)


def _write_extras(scan: Scan, result: Segmentation, record: ScanResult, outputs: Outputs,
                  stem: str) -> list[str]:
    """The mask, overlay, report and DICOM files asked for, named ``output_name(stem, ...)``
    and ``stem`` + _SR.dcm / _SC.dcm, each tried even when another failed; what was not
    written, as 'option: why'. A batch result is automatic: its SR says it was not reviewed."""
    writes = []
    if outputs.masks:
        writes.append(("--masks", lambda: _write_png(
            outputs.masks / output_name(stem, "mask", ".png"), result.mask, "mask")))
    if outputs.overlays:
        writes.append(("--overlays", lambda: _write_png(
            outputs.overlays / output_name(stem, "overlay", ".png"),
            annotated_image(record, scan.pixels), "overlay")))
    if outputs.reports and outputs.write_report:
        writes.append(("--reports", lambda: outputs.write_report(
            outputs.reports / output_name(stem, "report", ".pdf"), scan, record)))
    if outputs.dicom and record.in_mm:  # an SR holds millimetres only
        writes.append(("--dicom-out", lambda: _write_dicom(scan, record, outputs, stem)))
    failed = []
    for option, write in writes:
        try:
            write()
        except (OSError, ValueError, DicomError) as exc:
            unsent = ", not sent" if option == "--dicom-out" and outputs.send_dicom else ""
            failed.append(f"{option}: {reason(exc) if isinstance(exc, OSError) else exc}"
                          f"{unsent}")
    return failed


def _write_dicom(scan: Scan, record: ScanResult, outputs: Outputs, stem: str) -> None:
    """The SR and SC (both or neither), then, with ``--send``, to the PACS; results that
    could not be written are not sent, and the row says so."""
    from fetalview.core.results.dicom_results import make_results
    written = make_results(scan, record, patient=outputs.patient).write(outputs.dicom, stem)
    if outputs.send_dicom:
        outputs.send_dicom(display_name(scan.path), written)


def _write_png(path: Path, image, role: str) -> None:
    """Encode in memory, mark as fetalview's own and write atomically: an interrupted run or a
    full disk leaves the previous file (or none), never half a PNG, and a link planted at the
    name is never written through."""
    ok, data = cv2.imencode(".png", image)
    if not ok:
        raise OSError(f"cannot encode {display_name(path)} as PNG")
    write_outputs([(path, mark_png(data.tobytes(), role))])


class OutputError(OSError):
    """A results file could not be written; ``rows`` still holds every measurement."""

    def __init__(self, message: str, rows: list[dict[str, str]]):
        super().__init__(message)
        self.rows = rows


def hc18_row(row: dict[str, str]) -> list[str] | None:
    """The challenge's format: ellipse in mm, angle in radians; None for an unmeasured scan.
    The challenge names a scan by its file name alone (the last part of the row's name)."""
    if not row["pixel_size_mm"] or not row["center_x_px"]:
        return None
    ps = float(row["pixel_size_mm"])
    return [row["filename"].rsplit("/", 1)[-1], f"{float(row['center_x_px']) * ps:.6f}",
            f"{float(row['center_y_px']) * ps:.6f}", f"{float(row['semi_axis_a_px']) * ps:.6f}",
            f"{float(row['semi_axis_b_px']) * ps:.6f}",
            f"{math.radians(float(row['angle_deg'])) % math.pi:.6f}"]


def _results_line(row: dict[str, str]) -> bytes:
    return csv_line(row[c] for c in CSV_COLUMNS)


def _hc18_line(row: dict[str, str]) -> bytes:
    line = hc18_row(row)
    return csv_line(line) if line else b""


class _Results:
    """One results CSV the batch writes row by row (see ``GrowingFile``); a write that fails
    stops this file only, and is reported at the end with every row kept."""

    def __init__(self, path: Path, header: list[str], line: Callable[[dict], bytes]):
        self.path, self.line, self.error = path, line, None
        self.file = GrowingFile(path)  # an unwritable folder fails here, before any work
        self.add(csv_line(header))

    def add(self, data: bytes) -> None:
        if self.error is None and data:
            try:
                self.file.write(data)
            except OSError as exc:
                self.error = exc
                self.file.abandon()

    def finish(self) -> str | None:
        """Complete the file; if it could not be, what to tell the user."""
        if self.error is None:
            try:
                self.file.finish()
                return None
            except OSError as exc:
                self.error = exc
        kept = (f" (the rows up to the failure are in {self.file.partial})"
                if self.file.partial else "")
        return f"cannot write {self.path}: {reason(self.error)}{kept}"


def echo_csv(stream: TextIO, data: bytes) -> None:
    """Rows to the terminal or a pipe as they come, as UTF-8 bytes whatever the locale."""
    buffer = getattr(stream, "buffer", None)
    if buffer is None:
        stream.write(data.decode("utf-8"))
    else:
        stream.flush()
        buffer.write(data)
        buffer.flush()


def _leftovers_note(file: GrowingFile) -> str:
    return (f"{', '.join(display_name(p) for p in file.leftovers)} beside "
            f"{display_name(file.path)} hold the rows of earlier runs that were killed or "
            f"could not finish (or of one still running); they are kept, this run writes "
            f"{display_name(file.partial)}. Delete them once their rows are no longer needed")


def measure_batch(batch: Batch, segmenter: Segmenter, frame: int = 0,
                  echo: TextIO | None = None) -> list[dict[str, str]]:
    """Measure every planned scan (``frame`` of DICOM cine loops; still images have only frame
    0), writing each row as it comes to the results CSVs (and to ``echo``, e.g. stdout); with
    ``--edd``, the reports after the last row (``serial_reports``).

    Raises OutputError, without rows before any scan is measured when a results file cannot be
    started, with every row at the end when one could not be completed.
    """
    outputs = batch.outputs
    files = []
    try:
        for path, header, line in ((outputs.csv, CSV_COLUMNS, _results_line),
                                   (outputs.hc18_submission, HC18_COLUMNS, _hc18_line)):
            if path:
                files.append(_Results(path, header, line))
    except OSError as exc:
        for f in files:  # the results file started before this one: nothing in it yet
            f.file.abandon()
            if f.file.partial:
                f.file.partial.unlink()
        raise OutputError(f"cannot write results to {exc.filename or ''}: "
                          f"{reason(exc)}; nothing was measured", []) from exc
    for note in batch.notes + [_leftovers_note(f.file) for f in files if f.file.leftovers]:
        tqdm.write(printable(f"fetalview: {note}"), file=sys.stderr)
    if echo is not None:
        echo_csv(echo, csv_line(CSV_COLUMNS))
    rows = []
    later = (SerialReports(outputs.reports, outputs.write_report, outputs.dating)
             if outputs.dating and outputs.reports and outputs.write_report else None)
    # a bar only where someone watches it: in a redirected log it is a line of carriage returns
    # that the per-scan messages are glued onto
    for path, name, stem in tqdm(zip(batch.scans, batch.names, batch.stems),
                                 total=len(batch.scans), desc="measuring", unit="scan",
                                 file=sys.stderr, disable=not _is_terminal(sys.stderr)):
        try:
            row = measure_one(segmenter, path, batch.book, outputs, frame, stem, name, later)
        except Exception as exc:  # one scan's failure must not end the batch
            row = empty_row(name, f"error: {type(exc).__name__}: {exc}")
        if outputs.dicom and pixels_only(row):
            tqdm.write(printable(f"fetalview: {row['filename']}: {NO_DICOM_IN_PIXELS}"),
                       file=sys.stderr)
        rows.append(row)
        for f in files:
            f.add(f.line(row))
        if echo is not None:
            echo_csv(echo, _results_line(row))
    if later is not None:  # the patient's serial needs every scan measured
        later.write(progress=_is_terminal(sys.stderr))
        batch.reports_not_written = later.failed
    failed = [message for message in (f.finish() for f in files) if message]
    if failed:
        raise OutputError("; ".join(failed), rows)
    return rows


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a stand-in stream, or one already closed
        return False


def run_batch(paths: list[Path], segmenter: Segmenter, book: PixelSizeBook,
              outputs: Outputs, frame: int = 0) -> list[dict[str, str]]:
    """Plan and measure: ``measure_batch(plan_batch(...))``."""
    return measure_batch(plan_batch(paths, book, outputs), segmenter, frame)
