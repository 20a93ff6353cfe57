"""The clinical report: one A4 PDF page per scan, written with Qt's own PDF engine.

It carries everything the measurement rests on (the scan with its thin contour and labelled
calipers, HC/BPD/OFD with their conventions, the cephalic index, gestational age and percentile
with their models, or why they are withheld, pixel-size source, automatic or edited, model
version and confidence, date) and says plainly that it is decision support, and who
confirmed it or that a clinician still must (``ScanResult.responsibility``). The clinic's
name, when the clinic set one, heads the page. Anything that asks
for a clinician's look (a flagged contour, an unusual shape) is printed first, highlighted. Patient fields appear only when the caller passes
them, which the app and the batch command do only when the user opted in.

Qt needs an application object to paint text; ``write_report`` creates an offscreen one when the
caller (e.g. ``fetalview measure --reports``) has none, so it works without a display.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PySide6.QtCore import QBuffer, QIODevice, QMarginsF, QRectF, Qt
from PySide6.QtGui import (QColor, QFont, QGuiApplication, QImage, QPageLayout, QPageSize,
                           QPainter, QPdfWriter)
from PySide6.QtWidgets import QApplication

from fetalview.core.io.outputs import write_atomic
from fetalview.core.record.result import ScanResult
from fetalview.core.results.overlay import render_overlay

PATIENT_LABELS = {"patient_name": "Patient", "patient_id": "Patient ID", "exam_date": "Exam date"}
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
                 patient: dict[str, str] | None = None, clinic: str = "") -> Path:
    """Write ``report_pdf`` to ``path``, a file the user chose: made in memory, then written
    atomically, so never half a report and never another writer's temporary file. (The batch
    writes its per-scan reports with ``outputs.write_outputs`` instead.)"""
    path = Path(path)
    write_atomic(path, report_pdf(result, pixels, patient, clinic))
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
               patient: dict[str, str] | None = None, clinic: str = "") -> bytes:
    """The one-page PDF of ``result`` on the scan's ``pixels`` (uint8 gray, the scan or frame
    measured). ``patient`` holds name/ID/exam date (``PATIENT_LABELS``) only if the user opted
    in; ``clinic`` is the clinic's name for the header ("": none set)."""
    buffer = QBuffer()
    writer = a4_writer(buffer, f"fetalview report: {result.name}")
    painter = QPainter()
    if not painter.begin(writer):
        raise OSError("cannot paint the report")
    try:
        _paint(painter, writer.width(), writer.height(), result, pixels, patient or {},
               " ".join(clinic.split()))  # one line, whatever was typed
    finally:
        painter.end()
    del painter, writer  # the PDF is complete in the buffer once its writer is gone
    return bytes(buffer.data())


def _paint(p: QPainter, width: int, height: int, result: ScanResult, pixels: np.ndarray,
           patient: dict[str, str], clinic: str) -> None:
    dots_per_pt = RESOLUTION_DPI / 72.0
    y = 0.0

    def text(line: str, size_pt: float, bold: bool = False, color: str = "#000000") -> None:
        nonlocal y
        font = QFont("Helvetica")
        font.setPointSizeF(size_pt)
        font.setBold(bold)
        p.setFont(font)
        p.setPen(QColor(color))
        line_h = size_pt * 1.45 * dots_per_pt
        p.drawText(QRectF(0, y, width, line_h), Qt.AlignmentFlag.AlignLeft
                   | Qt.AlignmentFlag.AlignVCenter, line)
        y += line_h

    if clinic:
        text(clinic, 12, bold=True, color="#1a5f95")
    text("Fetal head biometry", 18, bold=True)
    scan = result.name + (f", frame {result.frame}" if result.frame is not None else "")
    text(f"Scan: {scan}", 10)
    for key, label in PATIENT_LABELS.items():
        if patient.get(key):
            text(f"{label}: {patient[key]}", 10)
    y += 8 * dots_per_pt

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
