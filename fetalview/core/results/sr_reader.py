"""Reading back OB-GYN Ultrasound Procedure Reports (TID 5000) found in a study on the PACS.

In a department the PACS is the shared record: the measurement made on arrival, a colleague's
confirmation and a scanner's own biometry are all Structured Reports in the study. The app
must show what they say without measuring again, so this reads them: fetalview's own (the
``dicom_sr.build_sr`` layout: the HC's ELLIPSE SCOORD lists the major axis's ends then the minor
axis's, in the source image's DICOM pixel coordinates, whose origin is half a pixel off
fetalview's) back into the ``Ellipse`` and figures it was made of, with who stands behind it;
and, from any other system's report, the HC, BPD and OFD alone, labelled with where they came
from, to be shown beside fetalview's and never used as its contour.

A report may replace another (Predecessor Documents Sequence); ``newest`` follows those
chains, so a confirmation supersedes the automatic result it confirmed without anything in
the PACS being deleted. What is read is checked: a fetalview report whose ellipse cannot be
rebuilt is refused in words (``SrReadError``), never half-read.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from fetalview.core.measure.geometry import Ellipse
from fetalview.core.record.pacs_origin import SrReference
from fetalview.core.results.dicom_sr import (BIPARIETAL_DIAMETER, GESTATIONAL_AGE,
                                             HEAD_CIRCUMFERENCE, MANUFACTURER,
                                             OCCIPITAL_FRONTAL_DIAMETER, REPORT_TITLE, SUMMARY)

#: TID 1004 "Device Observer Identifying Attributes" rows (PS3.16 CID 270 context).
DEVICE_MANUFACTURER = "121014"
DEVICE_MODEL_NAME = "121015"
_FIGURES = {HEAD_CIRCUMFERENCE.value: "hc", BIPARIETAL_DIAMETER.value: "bpd",
            OCCIPITAL_FRONTAL_DIAMETER.value: "ofd"}
_TO_MM = {"mm": 1.0, "cm": 10.0, "m": 1000.0}
#: How ``build_sr``'s comment says a person changed the model's contour (``Review.sentence``).
_EDITED_WORDS = ("Contour corrected and confirmed", "Contour edited by hand")
_FLAG_WORDS = "Review flag: "


class SrReadError(ValueError):
    """A report that says it is fetalview's could not be read back; the message says why."""


@dataclass(frozen=True)
class StudyReport:
    """What one TID 5000 report in a study says about the head."""

    ref: SrReference  # the report itself, as a later one names it as its predecessor
    ours: bool  # written by fetalview (its device observer), so its ellipse is the contour
    source: str  # where it came from, in words: the system that wrote it
    image_uid: str | None  # the SOP Instance UID of the image measured; None: not said
    hc: float | None  # mm
    bpd: float | None
    ofd: float | None
    ellipse: Ellipse | None = None  # fetalview's contour in source pixels
    model_version: str | None = None
    complete: bool = False
    verified: bool = False
    verifier: str | None = None  # who confirmed it (the DICOM name, ``^`` as spaces)
    verified_at: dt.datetime | None = None  # aware
    written_at: dt.datetime | None = None  # the content date and time, aware
    predecessors: tuple[str, ...] = ()  # SOP Instance UIDs of the reports it replaces
    edited: bool = False  # a person changed the model's contour (then confirmed it, or not)
    review_flag: str | None = None  # the model's review flag, in the report's words
    frame: int = 0  # the frame measured (0-based) in a cine loop
    exam_date: dt.date | None = None  # the study's date (else the content date)
    #: The GA at the scan its TID 5002 summary states (days), from the dating it had then.
    summary_ga_days: int | None = None

    @property
    def when(self) -> dt.datetime:
        """When it was written (or verified), for ordering; the epoch when it says neither."""
        return self.verified_at or self.written_at or dt.datetime(1970, 1, 1,
                                                                  tzinfo=dt.timezone.utc)


def _code(item: Dataset) -> str:
    seq = item.get("ConceptNameCodeSequence") or []
    return str(seq[0].get("CodeValue", "")) if seq else ""


def _walk(items: Iterable[Dataset]) -> Iterator[Dataset]:
    for item in items or []:
        yield item
        yield from _walk(item.get("ContentSequence") or [])


def _zone(text: str) -> dt.tzinfo | None:
    """The zone of a DICOM offset such as "+0100" (``TimezoneOffsetFromUTC``, or a DT's
    end); None when it is no such offset."""
    if len(text) == 5 and text[0] in "+-" and text[1:].isdigit():
        minutes = int(text[1:3]) * 60 + int(text[3:])
        return dt.timezone(dt.timedelta(minutes=minutes if text[0] == "+" else -minutes))
    return None


def _datetime(text: str, zone: dt.tzinfo | None) -> dt.datetime | None:
    """A DICOM DT (or DA+TM run together) as an aware time: an offset in it or the report's
    zone, else this computer's local zone (what ``build_sr`` writes: local time)."""
    text = str(text or "").strip()
    offset = None
    for sign in "+-":
        if sign in text[8:]:
            text, offset = text[:text.rindex(sign)], text[text.rindex(sign):]
    digits = text.split(".")[0]
    if len(digits) < 8 or not digits.isdigit():
        return None
    digits = (digits + "000000")[:14]
    try:
        t = dt.datetime.strptime(digits, "%Y%m%d%H%M%S")
    except ValueError:
        return None
    zone = _zone(offset) if offset is not None else zone
    return t.replace(tzinfo=zone) if zone is not None else t.astimezone()


def _device_attribute(ds: Dataset, code: str) -> str | None:
    for item in ds.get("ContentSequence") or []:
        if _code(item) == code and "TextValue" in item:
            return str(item.TextValue)
    return None


def _figure(item: Dataset) -> float | None:
    values = item.get("MeasuredValueSequence") or []
    if not values:
        return None
    units = values[0].get("MeasurementUnitsCodeSequence") or []
    scale = _TO_MM.get(str(units[0].get("CodeValue", "")) if units else "")
    try:
        value = float(values[0].NumericValue) * scale if scale else None
    except (TypeError, ValueError, AttributeError):
        return None
    return value if value is not None and math.isfinite(value) and value > 0 else None


def ellipse_of(points: np.ndarray) -> Ellipse:
    """The ellipse of an SR ELLIPSE's four points (major axis ends, then minor axis ends),
    given in fetalview's pixel coordinates."""
    p = np.asarray(points, dtype=float).reshape(4, 2)
    major, minor = p[1] - p[0], p[3] - p[2]
    a, b = np.linalg.norm(major) / 2, np.linalg.norm(minor) / 2
    if not (math.isfinite(a) and math.isfinite(b)) or a <= 0 or b <= 0:
        raise SrReadError("its ellipse has an axis of no length")
    centre = (p[0] + p[1]) / 2
    angle = math.degrees(math.atan2(major[1], major[0]))
    return Ellipse(float(centre[0]), float(centre[1]), float(a), float(b), angle)


def _scoord(item: Dataset) -> tuple[Ellipse | None, str | None, int]:
    """The ellipse, image and frame (0-based) of a measurement's ELLIPSE SCOORD, if any."""
    for child in item.get("ContentSequence") or []:
        if child.get("ValueType") == "SCOORD" and child.get("GraphicType") == "ELLIPSE":
            data = np.asarray(child.GraphicData, dtype=float)
            if data.size != 8 or not np.isfinite(data).all():
                raise SrReadError("its ellipse does not have four finite points")
            image, frame = None, 0
            for ref in child.get("ContentSequence") or []:
                for sop in ref.get("ReferencedSOPSequence") or []:
                    image = str(sop.ReferencedSOPInstanceUID)
                    frames = sop.get("ReferencedFrameNumber")
                    if frames:
                        frame = int(frames[0] if isinstance(frames, MultiValue) else frames) - 1
            # DICOM's pixel origin is the corner of the first pixel, fetalview's its centre
            return ellipse_of(data.reshape(4, 2) - 0.5), image, max(frame, 0)
    return None, None, 0


def _predecessors(ds: Dataset) -> tuple[str, ...]:
    return tuple(str(sop.ReferencedSOPInstanceUID)
                 for study in ds.get("PredecessorDocumentsSequence") or []
                 for series in study.get("ReferencedSeriesSequence") or []
                 for sop in series.get("ReferencedSOPSequence") or [])


def _source(ds: Dataset, ours: bool, model: str | None) -> str:
    if ours:
        return f"fetalview ({model})" if model else "fetalview"
    words = " ".join(str(ds.get(k, "") or "").strip()
                     for k in ("Manufacturer", "ManufacturerModelName")).strip()
    device = _device_attribute(ds, DEVICE_MANUFACTURER)
    return words or device or str(ds.get("InstitutionName", "") or "") or "another system"


def _summary_ga(ds: Dataset) -> int | None:
    """The GA (days) in the report's TID 5002 summary; None when it has none."""
    for section in _walk(ds.ContentSequence):
        if _code(section) == SUMMARY.value:
            for item in section.get("ContentSequence") or []:
                values = item.get("MeasuredValueSequence") or []
                if _code(item) == GESTATIONAL_AGE.value and values:
                    try:
                        return int(round(float(values[0].NumericValue)))
                    except (TypeError, ValueError, AttributeError):
                        return None
    return None


def _exam_date(ds: Dataset) -> dt.date | None:
    for keyword in ("StudyDate", "ContentDate"):
        try:
            return dt.datetime.strptime(str(ds.get(keyword, "") or "")[:8], "%Y%m%d").date()
        except ValueError:
            continue
    return None


def is_biometry_report(ds: Dataset) -> bool:
    """Whether ``ds`` is an OB-GYN Ultrasound Procedure Report (TID 5000's title)."""
    return ds.get("ValueType") == "CONTAINER" and _code(ds) == REPORT_TITLE.value


def read_report(ds: Dataset) -> StudyReport | None:
    """What the report ``ds`` says about the head; None when it is no TID 5000 report or
    holds none of HC, BPD and OFD. SrReadError for a fetalview report that is damaged."""
    if not is_biometry_report(ds):
        return None
    device = _device_attribute(ds, DEVICE_MANUFACTURER)
    ours = (device or str(ds.get("Manufacturer", ""))) == MANUFACTURER
    figures: dict[str, float | None] = {}
    ellipse = image = None
    frame = 0
    flag, edited = None, False
    for item in _walk(ds.ContentSequence):
        name = _FIGURES.get(_code(item))
        if item.get("ValueType") == "NUM" and name and name not in figures:
            figures[name] = _figure(item)
            if name == "hc" and ours:
                ellipse, image, frame = _scoord(item)
        if item.get("ValueType") == "TEXT" and ours:
            text = str(item.get("TextValue", ""))
            edited = edited or any(words in text for words in _EDITED_WORDS)
            if _FLAG_WORDS in text:
                flag = text.split(_FLAG_WORDS, 1)[1].split(". ", 1)[0].rstrip(".")
    if not any(figures.values()):
        return None
    if not ours:  # the image another system measured on, where its report names one
        image = next((str(sop.ReferencedSOPInstanceUID) for item in _walk(ds.ContentSequence)
                      for sop in item.get("ReferencedSOPSequence") or []), None)
    if ours and ellipse is None:
        raise SrReadError("it is fetalview's but holds no head ellipse")
    zone = _zone(str(ds.get("TimezoneOffsetFromUTC", "") or ""))
    observers = ds.get("VerifyingObserverSequence") or []
    verified = str(ds.get("VerificationFlag", "")) == "VERIFIED"
    verifier = str(observers[0].get("VerifyingObserverName", "")).replace("^", " ").strip() \
        if observers else ""
    model = _device_attribute(ds, DEVICE_MODEL_NAME) if ours else None
    ref = SrReference(str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID),
                      str(ds.SOPClassUID), str(ds.SOPInstanceUID))
    return StudyReport(
        ref=ref, ours=ours, source=_source(ds, ours, model), image_uid=image,
        hc=figures.get("hc"), bpd=figures.get("bpd"), ofd=figures.get("ofd"),
        ellipse=ellipse, model_version=model,
        complete=str(ds.get("CompletionFlag", "")) == "COMPLETE",
        verified=verified and bool(verifier), verifier=verifier or None,
        verified_at=_datetime(observers[0].get("VerificationDateTime", ""), zone)
        if observers else None,
        written_at=_datetime(f"{ds.get('ContentDate', '')}{ds.get('ContentTime', '')}", zone),
        predecessors=_predecessors(ds), edited=edited, review_flag=flag, frame=frame,
        exam_date=_exam_date(ds), summary_ga_days=_summary_ga(ds))


def newest(reports: Iterable[StudyReport]) -> StudyReport | None:
    """The report that stands: one no other report replaces (the newest end of its
    predecessor chain); of several such, the latest written."""
    reports = list(reports)
    replaced = {uid for r in reports for uid in r.predecessors}
    heads = [r for r in reports if r.ref.sop_instance_uid not in replaced] or reports
    return max(heads, key=lambda r: (r.when, r.verified), default=None)
