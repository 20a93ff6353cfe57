"""The result record as CSV rows: the batch command's contract and the app's review export.

Both render a ``ScanResult`` and format; neither measures. Millimetre columns stay empty
without a pixel size: never a guessed figure.
"""

from __future__ import annotations

import math

from fetalview.core.measure.biometry import OUTER_INNER
from fetalview.core.record.result import ScanResult
from fetalview.core.record.review import NOT_MEASURED

#: Exactly the columns the batch command's contract names (gestational age goes in overlays and
#: reports, where its formula and valid range can be stated).
CSV_COLUMNS = ["filename", "pixel_size_mm", "center_x_px", "center_y_px", "semi_axis_a_px",
               "semi_axis_b_px", "angle_deg", "hc_mm", "bpd_mm", "ofd_mm", "confidence", "status"]
#: The app's CSV adds to the batch's columns (whose bpd_mm and ofd_mm are outer-to-outer, from
#: the ellipse) what only a person adds: the edit, the outer-to-inner BPD (the pair shown, or
#: saved) and whether it was confirmed, ``bpd_convention``: the convention of the BPD shown and
#: reported (which of bpd_mm and bpd_outer_inner_mm it is), the cephalic index, the distance
#: calipers (D1;D2;... in mm, or px), and the review: its state (``core.record.review``) and
#: who confirmed it when (UTC). The growth finding is the patient's serial scans' finding in
#: the record's words (a fall across centile lines, an HC below the 3rd), as the panel and the
#: reports say it.
EXPORT_CSV_COLUMNS = CSV_COLUMNS + ["edited", "bpd_outer_inner_mm", "bpd_outer_inner_confirmed",
                                    "bpd_convention", "cephalic_index", "distances",
                                    "growth_finding", "review",
                                    "reviewed_by", "reviewed_at"]


def _fmt(v: float | None, digits: int = 3) -> str:
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def empty_row(filename: str, status: str, columns: list[str] = CSV_COLUMNS) -> dict[str, str]:
    """The row of a scan with no figures at all (unreadable, failed, not measured)."""
    row = {c: "" for c in columns}
    row.update(filename=filename, status=status)
    return row


def result_row(result: ScanResult, status: str | None = None) -> dict[str, str]:
    """One row in ``CSV_COLUMNS``: the ellipse, and HC/BPD/OFD from it (BPD outer-to-outer);
    ``status`` replaces the result's own (e.g. when an output file failed)."""
    row = empty_row(result.name, status or result.status)
    ps = result.pixel_size
    row.update(confidence=_fmt(result.confidence),
               pixel_size_mm=_fmt(ps.mm_per_pixel, 6) if ps else "")
    e, m = result.ellipse, result.ellipse_measurement
    if e is None:
        return row
    row.update(center_x_px=_fmt(e.cx), center_y_px=_fmt(e.cy), semi_axis_a_px=_fmt(e.a),
               semi_axis_b_px=_fmt(e.b), angle_deg=_fmt(e.angle_deg))
    if m.in_mm:
        row.update(hc_mm=_fmt(m.hc, 2), bpd_mm=_fmt(m.bpd, 2), ofd_mm=_fmt(m.ofd, 2))
    return row


def export_row(result: ScanResult) -> dict[str, str]:
    """The app's row: ``result_row`` (``status`` keeps the batch contract's words), then the
    review: whether a person edited or confirmed it, by whom, when, and the calipers."""
    row = {c: "" for c in EXPORT_CSV_COLUMNS}
    row.update(result_row(result))
    signoff, m = result.signoff, result.measurement
    row.update(edited="yes" if result.edited else "no", review=result.state,
               growth_finding=result.serial_finding or "",
               reviewed_by=signoff.by if signoff else "", reviewed_at=signoff.at if signoff else "")
    ps = result.pixel_size
    pair = result.bpd_outer_inner
    row["bpd_outer_inner_mm"] = f"{pair[0].length * ps.mm_per_pixel:.2f}" if pair and ps else ""
    row["bpd_outer_inner_confirmed"] = ("yes" if pair[1] else "no") if pair else ""
    if m is not None and m.bpd_convention == OUTER_INNER:  # the pair shown, suggested or not
        row["bpd_outer_inner_mm"] = f"{m.bpd:.2f}" if m.in_mm else ""
        row["bpd_outer_inner_confirmed"] = "yes" if m.bpd_confirmed else "no"
    if m is not None:
        row["bpd_convention"] = m.bpd_convention
        row["cephalic_index"] = f"{m.cephalic_index:.1f}"
        unit = "" if m.in_mm else " px"
        row["distances"] = ";".join(f"{d:.2f}{unit}" for d in m.distances)
    return row


def unmeasured_row(filename: str, status: str, review: str = NOT_MEASURED) -> dict[str, str]:
    """The app's row of a listed scan with no measurement to export (not measured yet,
    unreadable, or its saved measurement set aside): no figures at all, so every listed scan
    has its row and none goes missing from the CSV unsaid."""
    row = empty_row(filename, status, EXPORT_CSV_COLUMNS)
    row["review"] = review
    return row
