"""The clinical report: two A4 PDF pages per scan, written with Qt's own PDF engine.

It carries everything the measurement rests on (the scan with its thin contour and labelled
calipers, HC/BPD/OFD with their conventions, the cephalic index, gestational age and percentile
with their models, or why they are withheld, pixel-size source, automatic or edited, model
version and confidence, date) and says plainly that it is decision support, and who
confirmed it or that a clinician still must (``ScanResult.responsibility``). The clinic's
name, when the clinic set one, heads the page. The second page is the growth the clinician
files: the HC chart on the INTERGROWTH-21st centiles (``charts.growth_chart``, the panel's
drawing), the percentile with its z-score or why there is no point, and for a patient scanned
more than once a table of every scan (date, GA, HC, centile, review state). Anything that asks
for a clinician's look (a flagged contour, an unusual shape) is printed first, highlighted.
The header's patient and study fields (name, ID, birth date, exam date, facility, operator,
from the DICOM) appear only when the caller passes them, which the app and the batch command
do only when the user opted in; the reviewer is the clinician whose confirmation covers the
contour.

Qt needs an application object to paint text; ``write_report`` creates an offscreen one when the
caller (e.g. ``fetalview measure --reports``) has none, so it works without a display.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PySide6.QtCore import QBuffer, QIODevice, QMarginsF, QRectF, Qt
from PySide6.QtGui import (QColor, QFont, QGuiApplication, QImage, QPageLayout, QPageSize,
                           QPainter, QPdfWriter)
from PySide6.QtWidgets import QApplication

from fetalview.charts.growth_chart import LEGEND, paint_growth_chart
from fetalview.core.io.outputs import write_atomic
from fetalview.core.measure.growth import GROWTH_TABLE_HEAD, GrowthPoint, growth_row
from fetalview.core.record.result import ScanResult
from fetalview.core.results.overlay import render_overlay

PATIENT_LABELS = {"patient_name": "Patient", "patient_id": "Patient ID",
                  "birth_date": "Birth date", "exam_date": "Exam date", "facility": "Facility",
                  "operator": "Operator"}
RESOLUTION_DPI = 300
MARGIN_MM = 15.0


def ensure_gui_application() -> QGuiApplication:
    """The running Qt application, or a new offscreen one when there is none.

    A QApplication rather than a bare QGuiApplication, so that widgets can still be made later
    in the same process (Qt allows one application object, and widgets need the full one).
    """
    app = QApplication.instance()
    if app is None:
        if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        app = QApplication([])
    return app


def _qimage(bgr: np.ndarray) -> QImage:
    rgb = np.ascontiguousarray(bgr[..., ::-1])
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def write_report(path: Path, result: ScanResult, pixels: np.ndarray,
                 patient: dict[str, str] | None = None, clinic: str = "",
                 points: Sequence[GrowthPoint] | None = None) -> Path:
    """Write ``report_pdf`` to ``path``, a file the user chose: made in memory, then written
    atomically, so never half a report and never another writer's temporary file. (The batch
    writes its per-scan reports with ``outputs.write_outputs`` instead.)"""
    path = Path(path)
    write_atomic(path, report_pdf(result, pixels, patient, clinic, points))
    return path


def a4_writer(buffer: QBuffer, title: str) -> QPdfWriter:
    """A PDF writer into ``buffer`` (opened here): A4 portrait, fetalview's margins and
    resolution, ``title``, and fetalview as creator (by which ``ownfiles`` knows its PDFs).
    Every fetalview PDF starts here."""
    ensure_gui_application()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(buffer)
    writer.setResolution(RESOLUTION_DPI)
    writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4),
                                     QPageLayout.Orientation.Portrait,
                                     QMarginsF(MARGIN_MM, MARGIN_MM, MARGIN_MM, MARGIN_MM),
                                     QPageLayout.Unit.Millimeter))
    writer.setTitle(title)
    writer.setCreator("fetalview")
    return writer


def report_pdf(result: ScanResult, pixels: np.ndarray,
               patient: dict[str, str] | None = None, clinic: str = "",
               points: Sequence[GrowthPoint] | None = None) -> bytes:
    """The PDF of ``result`` on the scan's ``pixels`` (uint8 gray, the scan or frame measured):
    the scan and its figures, then a page of growth. ``patient`` holds the header's fields
    (``PATIENT_LABELS``) only if the user opted in; ``clinic`` is the clinic's name for the
    header ("": none set). ``points`` are the patient's scans on the growth chart (None: this
    scan's own point, ``result.chart``); with more than one, the page lists every scan."""
    buffer = QBuffer()
    writer = a4_writer(buffer, f"fetalview report: {result.name}")
    painter = QPainter()
    if not painter.begin(writer):
        raise OSError("cannot paint the report")
    try:
        clinic = " ".join(clinic.split())  # one line, whatever was typed
        _paint(painter, writer.width(), writer.height(), result, pixels, patient or {}, clinic)
        writer.newPage()
        _paint_growth(painter, writer.width(), writer.height(), result, patient or {}, clinic,
                      result.chart[0] if points is None else tuple(points))
    finally:
        painter.end()
    del painter, writer  # the PDF is complete in the buffer once its writer is gone
    return bytes(buffer.data())


DOTS_PER_PT = RESOLUTION_DPI / 72.0


def _text(p: QPainter, y: float, line: str, size_pt: float, bold: bool = False,
          color: str = "#000000", x: float = 0.0, width: float | None = None) -> float:
    """Draw ``line`` at ``y`` (dots), ``x`` from the left, wrapped within ``width`` (default:
    to the page's right edge), never clipped; the y below it."""
    font = QFont("Helvetica")
    font.setPointSizeF(size_pt)
    font.setBold(bold)
    p.setFont(font)
    p.setPen(QColor(color))
    width = p.device().width() - x if width is None else width
    flags = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter | Qt.TextFlag.TextWordWrap
    line_h = max(size_pt * 1.45 * DOTS_PER_PT,
                 p.boundingRect(QRectF(x, y, width, 1e5), flags, line).height())
    p.drawText(QRectF(x, y, width, line_h), flags, line)
    return y + line_h


def _header(p: QPainter, result: ScanResult, patient: dict[str, str], clinic: str,
            title: str) -> float:
    """The clinic, the title, the scan, and the header's patient and study fields the user
    allowed, with who reviewed the contour; the y below it."""
    y = 0.0
    if clinic:
        y = _text(p, y, clinic, 12, bold=True, color="#1a5f95")
    y = _text(p, y, title, 18, bold=True)
    scan = result.name + (f", frame {result.frame}" if result.frame is not None else "")
    y = _text(p, y, f"Scan: {scan}", 10)
    for key, label in PATIENT_LABELS.items():
        if patient.get(key):
            y = _text(p, y, f"{label}: {patient[key]}", 10)
    if result.signoff is not None:
        y = _text(p, y, f"Reviewer: {result.signoff.by}", 10)
    return y + 8 * DOTS_PER_PT


def _paint(p: QPainter, width: int, height: int, result: ScanResult, pixels: np.ndarray,
           patient: dict[str, str], clinic: str) -> None:
    dots_per_pt = DOTS_PER_PT
    y = _header(p, result, patient, clinic, "Fetal head biometry")

    def text(line: str, size_pt: float, bold: bool = False, color: str = "#000000") -> None:
        nonlocal y
        y = _text(p, y, line, size_pt, bold, color, width=width)

    image = _qimage(render_overlay(pixels, result.ellipse, [], calipers=result.marks,
                                   doubtful=result.flagged))
    box_h = height * 0.45
    scale = min(width / image.width(), box_h / image.height())
    target = QRectF(0, y, image.width() * scale, image.height() * scale)
    p.drawImage(target, image)
    y += target.height() + 10 * dots_per_pt

    warnings = result.warnings
    if warnings:
        line_h = 11 * 1.45 * dots_per_pt
        p.fillRect(QRectF(0, y, width, line_h * len(warnings) + 4 * dots_per_pt),
                   QColor("#ffe2b0"))
        y += 2 * dots_per_pt
        for warning in warnings:
            text(warning, 11, bold=True, color="#b00020")
        y += 6 * dots_per_pt
    for i, line in enumerate(result.caption()):
        if line == result.state_words:  # the review state stands out, as on the exported image
            text(line, 11, bold=True, color="#1a5f95")
        else:
            text(line, 12 if i < 3 else 10, bold=i < 3)

    y = height - 14 * dots_per_pt
    text(result.responsibility, 11, bold=True)


def _paint_growth(p: QPainter, width: int, height: int, result: ScanResult,
                  patient: dict[str, str], clinic: str, points: Sequence[GrowthPoint]) -> None:
    """The growth page: the header, the HC chart on the INTERGROWTH-21st centiles, the
    chart's line (this scan's percentile and z-score, or why it has no point), the serial
    scans' finding where there is one, and for a
    patient scanned more than once a table of every scan."""
    y = _header(p, result, patient, clinic, "Head circumference growth")
    target = QRectF(0, y, width, width * 0.6)
    paint_growth_chart(p, target, points)
    y = target.bottom() + 6 * DOTS_PER_PT
    note = result.chart[1]
    y = _text(p, y, note, 11, bold=True,
              color="#b00020" if note.startswith("No point") else "#000000", width=width)
    if result.serial_finding:  # beside the chart it is about, as well as on page 1
        y = _text(p, y, result.serial_finding, 11, bold=True, color="#b00020", width=width)
    y = _text(p, y, LEGEND, 9, color="#404040", width=width)
    if len(points) > 1:
        y += 6 * DOTS_PER_PT
        columns = (0.0, 0.18, 0.32, 0.46, 0.78)
        rows = [GROWTH_TABLE_HEAD] + [growth_row(point) for point in sorted(
            points, key=lambda q: (q.exam_date is None, q.exam_date, q.ga_days))]
        for i, row in enumerate(rows):
            for x, cell in zip(columns, row):
                _text(p, y, cell, 10, bold=i == 0, x=x * width, width=0.3 * width)
            y += 10 * 1.45 * DOTS_PER_PT
    _text(p, height - 14 * DOTS_PER_PT, result.responsibility, 11, bold=True, width=width)
