"""The list report: one PDF for every scan of a list, besides the one-page report per scan.

A clinic reviews a list (a day's folder) and files one document for it: each scan's figures
with their conventions, any flag or warning first, its review state with who confirmed it and
when, its model and pixel-size source, all rendered from the scan's ``ScanResult`` as every
other export (nothing is worked out here); a scan without a measurement is listed with the
reason, so none goes missing unsaid. Scans follow the list's order and never split across a
page; each page carries the list's name, its number and the decision-support line.

The first page carries one HC growth chart (``charts.growth_chart``, the panel's drawing) with
every confirmed scan's HC at its gestational age where one was given, not joined (a list may
hold several patients). The rest is text: the figures come from each scan's saved result, so
no scan is decoded to make it (a folder of hundreds is a few pages).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QBuffer, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPdfWriter

from fetalview.charts.growth_chart import LIST_LEGEND, paint_growth_chart
from fetalview.core.io.outputs import write_atomic
from fetalview.core.record.result import ScanResult
from fetalview.core.record.review import NOT_MEASURED
from fetalview.report.pdf import RESOLUTION_DPI, a4_writer

FOOTER = ("Decision support only: every automatic contour is to be confirmed by a clinician; "
          "each scan says who confirmed it.")
#: (text, size in pt, bold, colour): one printed line.
Line = tuple[str, float, bool, str]
GAP_PT = 6.0  # between two scans
WRAP = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter | Qt.TextFlag.TextWordWrap


@dataclass(frozen=True)
class ListedScan:
    """One scan of the list as the export found it: its record, or why it has none."""

    name: str
    result: ScanResult | None
    without: str = ""  # why there is no record (not measured, unreadable, set aside...)
    state: str = NOT_MEASURED  # the review state of one without a record (the CSV's column)


def write_list_report(path: Path, scans: list[ListedScan], title: str) -> Path:
    """Write ``list_report_pdf`` to ``path`` atomically: never half a report."""
    write_atomic(Path(path), list_report_pdf(scans, title))
    return Path(path)


def summary(scans: list[ListedScan]) -> str:
    """How many scans, confirmed, awaiting a look, without a measurement."""
    counts = Counter("none" if s.result is None or not s.result.measured
                     else "confirmed" if s.result.signoff is not None
                     else "flagged" if s.result.flagged else "other" for s in scans)
    parts = [f"{len(scans)} scans", f"{counts['confirmed']} confirmed"]
    if counts["flagged"]:
        parts.append(f"{counts['flagged']} flagged for review")
    if counts["other"]:
        parts.append(f"{counts['other']} not confirmed")
    if counts["none"]:
        parts.append(f"{counts['none']} without a measurement")
    return ", ".join(parts)


def _block(scan: ListedScan) -> list[Line]:
    """One scan's lines: its name, then what its record says (the flag and warnings first, the
    review state in blue, as on the one-page report), the caption's lines run together so a
    page holds a dozen scans."""
    lines: list[Line] = [(scan.name, 12, True, "#000000")]
    r = scan.result
    if r is None or not r.measured:
        return lines + [(scan.without or (r.state_words if r else ""), 10, False, "#555555")]
    lines += [(w, 10, True, "#b00020") for w in r.warnings]
    caption = r.caption()
    at = caption.index(r.state_words)  # the caption's lines run on, the state on its own
    return lines + [("; ".join(caption[:at]), 10, False, "#000000"),
                    (r.state_words, 10, True, "#1a5f95"),
                    ("; ".join(caption[at + 1:]), 9, False, "#555555")]


def list_report_pdf(scans: list[ListedScan], title: str,
                    when: datetime | None = None) -> bytes:
    """The PDF of ``scans`` in their order under ``title`` (the list's folder or folders)."""
    buffer = QBuffer()
    writer = a4_writer(buffer, f"fetalview list report: {title}")
    head: list[Line] = [("Fetal head biometry: list report", 18, True, "#000000"),
                        (f"List: {title}", 10, False, "#000000"),
                        (summary(scans), 10, True, "#000000"),
                        (f"Made {(when or datetime.now()).strftime('%Y-%m-%d %H:%M')}", 10, False,
                         "#000000")]
    dots_per_pt = RESOLUTION_DPI / 72.0
    footer_h = 2 * 11 * 1.45 * dots_per_pt
    points = [replace(point, latest=False) for s in scans if s.result is not None
              for point in s.result.chart[0] if point.confirmed]
    chart: list[Line] = [(LIST_LEGEND, 9, False, "#404040")]  # under the chart
    chart_h = writer.width() * 0.5
    blocks = [head, chart] + [_block(s) for s in scans]
    heights = [_height(block, writer, dots_per_pt) + (chart_h if block is chart else 0.0)
               for block in blocks]
    pages = _paginate(blocks, heights, writer.height() - footer_h)
    painter = QPainter()
    if not painter.begin(writer):
        raise OSError("cannot paint the list report")
    try:
        for number, page in enumerate(pages, 1):
            if number > 1:
                writer.newPage()
            y = 0.0
            for block in page:
                if block is chart:
                    paint_growth_chart(painter, QRectF(0, y, writer.width(), chart_h), points,
                                       join=False)
                    y += chart_h
                for line in block:
                    y = _text(painter, writer, y, line, dots_per_pt)
                y += GAP_PT * dots_per_pt
            y = writer.height() - footer_h
            y = _text(painter, writer, y, (f"{title}: page {number} of {len(pages)}", 9, False,
                                           "#555555"), dots_per_pt)
            _text(painter, writer, y, (FOOTER, 9, True, "#000000"), dots_per_pt)
    finally:
        painter.end()
    del painter, writer  # the PDF is complete in the buffer once its writer is gone
    return bytes(buffer.data())


def _font(size_pt: float, bold: bool) -> QFont:
    font = QFont("Helvetica")
    font.setPointSizeF(size_pt)
    font.setBold(bold)
    return font


def _line_height(writer: QPdfWriter, line: Line, dots_per_pt: float) -> float:
    """A line's height on the page, wrapped at the page's width (a long warning is printed
    whole, never cut)."""
    text, size_pt, bold, _ = line
    wrapped = QFontMetricsF(_font(size_pt, bold), writer).boundingRect(
        QRectF(0, 0, writer.width(), 1e9), WRAP, text).height()
    return max(size_pt * 1.45 * dots_per_pt, wrapped + 0.45 * size_pt * dots_per_pt)


def _height(block: list[Line], writer: QPdfWriter, dots_per_pt: float) -> float:
    return sum(_line_height(writer, line, dots_per_pt) for line in block) + GAP_PT * dots_per_pt


def _paginate(blocks: list[list[Line]], heights: list[float],
              room: float) -> list[list[list[Line]]]:
    """The blocks in pages of at most ``room``; a block never splits (one taller than a page,
    which no scan's is, gets a page of its own)."""
    pages: list[list[list[Line]]] = [[]]
    used = 0.0
    for block, h in zip(blocks, heights):
        if pages[-1] and used + h > room:
            pages.append([])
            used = 0.0
        pages[-1].append(block)
        used += h
    return pages


def _text(p: QPainter, writer: QPdfWriter, y: float, line: Line, dots_per_pt: float) -> float:
    """Paint ``line`` at ``y``, wrapped at the page's width; returns the next line's ``y``."""
    text, size_pt, bold, color = line
    p.setFont(_font(size_pt, bold))
    p.setPen(QColor(color))
    h = _line_height(writer, line, dots_per_pt)
    p.drawText(QRectF(0, y, writer.width(), h), WRAP, text)
    return y + h
