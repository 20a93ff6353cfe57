"""One scan's result, built once: everything a result says, for every output to render.

The app's panel, the annotated PNG, the PDF report, the batch's and the app's CSVs, the DICOM
Structured Report and the Secondary Capture all take their figures and their words from a
``ScanResult``; none of them measures, judges or words a fact itself. So a figure on screen is
the figure in every file, with the same convention, and a new output (an HL7 message, say)
needs only a renderer of this record.

``build_result`` makes one from a scan's ``Annotation`` (the app's saved record, or the batch's
model result turned into one with ``model_result.with_model_result``) and the scan's pixels,
which an outer-to-inner BPD that nobody placed is suggested from, and the version of the model
that measures where it is shown: a saved model result of another model (a test's fake, an older
release, another site's fine-tune) is said to be so in every output.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field, replace
from datetime import date, datetime

import numpy as np

from fetalview.core.measure.biometry import OUTER_INNER, OUTER_OUTER, Measurement, measure
from fetalview.core.measure.geometry import Ellipse
from fetalview.core.measure.growth import (PREGNANCY_KEY, GestationalAge, GrowthPoint,
                                           chart_point, dated_ga, growth_lines, pregnancy_dates)
from fetalview.core.measure.pixelsize import PixelSize
from fetalview.core.record.calipers import Calipers, bpd_pair, saved_bpd_pair, saved_calipers
from fetalview.core.record.model_result import outline_of, review_needed, scan_state
from fetalview.core.record.pacs_origin import (OtherValues, SrReference, other_values,
                                               pacs_note, replaced_report)
from fetalview.core.record.review import (LOW_CONFIDENCE, STATE_WORDS, SignOff, local_time_text,
                                          standing_signoff)
from fetalview.core.record.serial import Serial, SerialEntry
from fetalview.core.record.sidecar import Annotation

#: The name of ``Annotation.confidence`` wherever it is shown: screen, PNG, PDF, CSV docs.
CONFIDENCE_NAME = "model confidence"
#: The model line of a contour that no model drew.
HAND_DRAWN = "none (drawn by hand)"
#: Said where gestational age and percentile would be, when there is no pixel size.
NO_GROWTH_WITHOUT_MM = "No gestational age or percentile without a pixel size"
#: Said where the gestational age would be when the patient's dating has no exam date to count to.
NO_EXAM_DATE = ("No gestational age: the pregnancy is dated, but this scan's exam date is not "
                "known (give it under Patient and study)")
#: A report's last line while no clinician's confirmation covers the contour.
UNCONFIRMED_NOTE = "Decision support only: to be confirmed by a clinician."
#: A caliper mark as drawn: (label, end, end), ends as (x, y) scan pixels.
Mark = tuple[str, tuple[float, float], tuple[float, float]]


@dataclass(frozen=True)
class ScanResult:
    """What one scan's result says. Build with ``build_result``; render, never recompute."""

    name: str  # the scan's file name as text (``safetext.display_name``)
    ellipse: Ellipse | None
    pixel_size: PixelSize | None
    model_version: str | None  # None for a contour drawn by hand
    confidence: float | None
    edited: bool
    state: str  # ``core.review``'s state: auto, low confidence, edited, confirmed, ...
    signoff: SignOff | None  # the confirmation that covers this contour, if any
    review_reasons: tuple[str, ...]  # why the model's contour needs a look; () once reviewed
    #: HC, BPD, OFD as shown, and as every report and the app's CSV give them: the BPD in the
    #: chosen convention (outer-to-inner from its calipers, saying whether a person confirmed
    #: them), or, on a confirmed scan, in the convention it was confirmed with.
    measurement: Measurement | None
    #: HC, BPD, OFD straight from the ellipse (BPD outer-to-outer): the batch contract's
    #: columns (``bpd_mm``), which are drawn on the ellipse's axes.
    ellipse_measurement: Measurement | None
    #: The pregnancy's gestational age given for this scan, as used: None while its dates are
    #: questioned (``dates_question``) and nobody has said they are right.
    ga: GestationalAge | None
    marks: tuple[Mark, ...]  # BPD (in its convention), OFD, D1, D2... as drawn on exports
    bpd_outer_inner: tuple[Calipers, bool] | None  # the saved pair and whether confirmed
    calipers: tuple[Calipers, ...]  # the distance calipers D1, D2...
    outline: np.ndarray | None = field(default=None, compare=False)  # the model's raw outline
    frame: int | None = None  # the frame of a cine loop; None for a still image
    when: datetime = field(default_factory=datetime.now)  # when this result is reported
    #: Why the given age is not used yet (an implausible GA: a mistyped date, most often).
    dates_question: str | None = None
    #: That the contour stands as another model drew it, unreviewed (``other_model``).
    model_warning: str | None = None
    #: The PACS report this result was read from, which a report of it replaces.
    replaces: SrReference | None = None
    #: Said while the result is the PACS report's unchanged ("As stored in the PACS: ...").
    origin: str | None = None
    #: Other systems' HC/BPD/OFD for the scan, from the PACS: shown beside, never measured on.
    other_values: tuple[OtherValues, ...] = ()
    #: The pregnancy's estimated date of delivery and its LMP (when given) behind ``ga``, for
    #: a report's summary (``growth.pregnancy_dates``); None while no age is used.
    edd: date | None = None
    lmp: date | None = None
    #: Why a dated pregnancy gives this scan no age (``NO_EXAM_DATE``); None otherwise.
    dating_note: str | None = None
    #: The patient's serial scans, this one among them (``serial.serial_of``), or why there
    #: are none (``serial.no_patient``); None where nobody asked (a lone export).
    serial: Serial | None = None

    # --- what it says -----------------------------------------------------------------------

    @property
    def pacs_lines(self) -> list[str]:
        """Where the result came from and other systems' figures, when the PACS held them."""
        lines = [self.origin] if self.origin else []
        return lines + [v.line() for v in self.other_values]

    @property
    def measured(self) -> bool:
        return self.measurement is not None

    @property
    def bpd_ends(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """Where the BPD shown was measured: the ends of its mark, in scan pixels."""
        _, near, far = self.marks[0]
        return near, far

    @property
    def in_mm(self) -> bool:
        return self.measurement is not None and self.measurement.in_mm

    @property
    def flagged(self) -> bool:
        """The model's contour awaits a clinician's look (drawn amber, figures withheld)."""
        return bool(self.review_reasons)

    @property
    def review_note(self) -> str | None:
        """The flag in words, e.g. "Review: model confidence 0.91 (below 0.95)"."""
        return "Review: " + ", ".join(self.review_reasons) if self.review_reasons else None

    @property
    def status(self) -> str:
        """The batch contract's status: ``ok``, ``low_confidence`` (flagged, not reviewed) or
        ``no_head``."""
        if self.ellipse is None:
            return "no_head"
        return "low_confidence" if self.state == LOW_CONFIDENCE else "ok"

    @property
    def state_words(self) -> str:
        """The review state in full, with who confirmed it and when."""
        return self.signoff.words() if self.signoff else STATE_WORDS[self.state]

    @property
    def model_text(self) -> str:
        """The model and its confidence, e.g. "resunet-v1, model confidence 0.98"."""
        text = self.model_version or HAND_DRAWN
        if self.confidence is not None:
            text += f", {CONFIDENCE_NAME} {self.confidence:.2f}"
        return text

    @property
    def growth(self) -> list[str]:
        """Gestational age given, GA from HC and the HC percentile, each naming its model, or
        why they are withheld (a flagged contour, no pixel size)."""
        m = self.measurement
        if m is None:
            return []
        lines = growth_lines(m.hc if m.in_mm else None, self.ga, review_first=self.flagged)
        if self.ga is not None:
            lines.insert(0, f"Gestational age given: {self.ga}")
        elif self.dates_question is not None or self.dating_note is not None:
            lines.insert(0, self.dates_question or self.dating_note)
        if not m.in_mm:
            lines.append(NO_GROWTH_WITHOUT_MM)
        if self.serial_finding:
            lines.append(self.serial_finding)
        return lines

    @property
    def serial_finding(self) -> str | None:
        """The serial scans' finding (a fall across centile lines, an HC below the 3rd), in
        the words every output shows; None when there is none or no serial was asked for."""
        return self.serial.finding if self.serial else None

    @property
    def chart(self) -> tuple[tuple[GrowthPoint, ...], str]:
        """What the HC growth chart shows: the patient's serial scans' points where there are
        any (this scan among them once it is shown), else this scan's point (HC at the GA
        given, confirmed once a clinician confirmed the contour; none while the percentile is
        withheld); and the chart's line of words, this scan's percentile with its z-score or
        why it has no point."""
        m = self.measurement
        if m is None:
            return (), "No point on the chart: no head contour measured"
        point, note = chart_point(m.hc if m.in_mm else None, self.ga, self.signoff is not None,
                                  review_first=self.flagged)
        if point is None and self.dates_question is not None:
            note = f"No point on the chart: {self.dates_question}"
        if self.serial is not None and self.serial.hc:
            return self.serial.hc, note
        return ((point,) if point else ()), note

    @property
    def warnings(self) -> list[str]:
        """What every output highlights before the figures: a contour of another model, the
        review flag, then what in the figures looks wrong."""
        if self.measurement is None:
            return []
        return ([self.model_warning] if self.model_warning else []) \
            + ([self.review_note] if self.review_note else []) + self.measurement.warnings()

    @property
    def pixel_size_line(self) -> str:
        ps = self.pixel_size
        if ps is None:
            return "pixel size unknown: values in pixels, not mm"
        return f"pixel size {ps.mm_per_pixel:.4f} mm/pixel ({ps.source})"

    @property
    def when_text(self) -> str:
        """When this result is reported, in local time with its zone."""
        return local_time_text(self.when)

    @property
    def responsibility(self) -> str:
        """Who answers for the figures, as a report's last line: the clinician who confirmed
        them, from the confirmation that covers this contour, else that one still must."""
        if self.signoff is None:
            return UNCONFIRMED_NOTE
        return (f"Decision support, confirmed by {self.signoff.by} on "
                f"{self.signoff.when_text}.")

    def caption(self) -> list[str]:
        """The text block of every export: the figures with their conventions, the pixel size
        and its source, growth, the review state, the model, the date. Empty when unmeasured."""
        if self.measurement is None:
            return []
        return (self.measurement.lines() + [self.pixel_size_line] + self.growth
                + [self.state_words, f"model {self.model_text}", self.when_text])


def other_model(annotation: Annotation, model_in_use: str | None) -> str | None:
    """The warning that ``annotation``'s contour is another model's than ``model_in_use`` (the
    version of the model that measures here) and no person edited or confirmed it; None when
    it is this model's, a person's (drawn, edited or confirmed) or ``model_in_use`` is not
    known. Its figures were validated with no model card this fetalview answers for."""
    a = annotation
    if model_in_use is None or a.ellipse is None or a.model_version in (None, model_in_use) \
            or a.edited or standing_signoff(a) is not None:
        return None
    return (f"Measured by model {a.model_version}, not {model_in_use} in use here: measure "
            "again or review it")


def build_result(name: str, annotation: Annotation, pixels: np.ndarray | None,
                 convention: str = OUTER_OUTER, *, when: datetime | None = None,
                 frame_count: int = 1, outline: np.ndarray | None = None,
                 model_in_use: str | None = None, pregnancy: dict | None = None,
                 serial: Serial | None = None) -> ScanResult:
    """The result of ``annotation`` on the scan's ``pixels`` in the BPD ``convention``.

    ``pregnancy``: the record that dates this scan (``patients.pregnancy_record``: the
    patient's dating on the scan's exam date); default the scan's own saved one. ``serial``:
    the patient's serial scans (``serial.serial_of``), carried for every output to render.

    Without ``pixels`` an outer-to-inner BPD that nobody placed cannot be suggested and the BPD
    stays outer-to-outer (and says so, by its label). A standing confirmation keeps the BPD
    it was confirmed with, in its convention, whatever ``convention`` asks, and says so ("as
    confirmed") where the two differ: a change of settings re-opens no confirmed result. ``outline`` is the model's raw outline
    when the caller has it; otherwise the one saved in the annotation, if any.
    ``model_in_use``: the version of the model that measures where the result is shown, so
    that a saved result of another model warns (``other_model``); None: not known.
    """
    a = annotation
    e = a.ellipse
    calipers = tuple(saved_calipers(a.extra))
    measurement = ellipse_measurement = None
    marks: tuple[Mark, ...] = ()
    signoff = standing_signoff(a)
    shown = signoff.bpd_convention if signoff is not None else convention
    if e is not None:
        pair, confirmed = (bpd_pair(a, pixels) if shown == OUTER_INNER else (None, True))
        lengths = tuple(c.length for c in calipers)
        measurement = measure(e, a.pixel_size, None if pair is None else (pair.p, pair.q),
                              confirmed, lengths)
        if shown != convention:
            measurement = replace(measurement, bpd_as_confirmed=True)
        ellipse_measurement = measure(e, a.pixel_size)
        marks = _marks(e, pair, confirmed, calipers)
        if outline is None and pixels is not None:
            outline = outline_of(a, pixels.shape[:2])
    if pregnancy is None:
        pregnancy = a.extra.get(PREGNANCY_KEY)
    ga, question = dated_ga(pregnancy, measurement.hc if measurement and measurement.in_mm
                            else None)
    edd, lmp = pregnancy_dates(pregnancy) if ga is not None else (None, None)
    undated = (pregnancy or {}).get("method") not in (None, "", "weeks+days") \
        and not (pregnancy or {}).get("exam_date")
    return ScanResult(
        name=name, ellipse=e, pixel_size=a.pixel_size, model_version=a.model_version,
        confidence=a.confidence, edited=a.edited, state=scan_state(a),
        signoff=signoff, review_reasons=tuple(review_needed(a)),
        measurement=measurement, ellipse_measurement=ellipse_measurement,
        ga=ga, dates_question=question, dating_note=NO_EXAM_DATE if undated else None,
        edd=edd, lmp=lmp, serial=serial, marks=marks, bpd_outer_inner=saved_bpd_pair(a.extra),
        calipers=calipers, outline=outline,
        frame=(a.frame or 0) if frame_count > 1 else None, when=when or datetime.now(),
        model_warning=other_model(a, model_in_use), replaces=replaced_report(a),
        origin=pacs_note(a), other_values=other_values(a))


def serial_entry(result: ScanResult, exam: date | None) -> SerialEntry:
    """``result`` (built with its patient's dating) as one scan of its patient's serial: on
    the chart when its figures are shown, else with why not."""
    m = result.measurement
    why = ("not measured" if m is None else "awaits review" if result.flagged
           else "no pixel size" if not m.in_mm else "no exam date" if exam is None
           else "dates questioned" if result.dates_question else "not dated"
           if result.ga is None else None)
    shown = why is None
    return SerialEntry(result.name, exam, result.ga if shown else None,
                       m.hc if shown else None, m.bpd if shown else None,
                       m.ofd if shown else None, result.signoff is not None, why)


def result_digest(result: ScanResult, organization: str = "", named: bool = False) -> str:
    """A digest of what ``result`` states, and of whom it is reported by (``organization``)
    and how (``named`` images): every field of the record but when it was built (a re-send an
    hour later is the same result) and the model's raw outline (not stated; the ellipse is).
    The DICOM results' UIDs hang on it, and the app's record of a send names it, so a result
    changed after sending is known to differ from what the PACS holds. Of the patient's
    serial scans only the finding counts (the results state it): measuring another scan of
    the patient does not change what this one's sent results say."""
    facts = [(f.name, repr(getattr(result, f.name))) for f in dataclasses.fields(result)
             if f.name not in ("when", "outline", "serial")]
    facts.append(("serial_finding", repr(result.serial_finding)))
    return hashlib.sha256(repr((facts, (organization, str(named)))).encode()).hexdigest()


def _marks(e: Ellipse, pair: Calipers | None, confirmed: bool,
           calipers: tuple[Calipers, ...]) -> tuple[Mark, ...]:
    """The labelled caliper pairs an export draws: BPD (outer-to-outer on the ellipse's short
    axis, or the outer-to-inner pair, "BPD suggested" until confirmed), OFD, D1, D2..."""
    (a0, a1), (b0, b1) = e.axis_endpoints()
    short, long = ((a0, a1), (b0, b1)) if e.a < e.b else ((b0, b1), (a0, a1))
    near, far = sorted(short, key=lambda p: (p[1], p[0]))
    bpd: Mark = ("BPD", tuple(near), tuple(far))
    if pair is not None:
        bpd = ("BPD" if confirmed else "BPD suggested", pair.p, pair.q)
    marks = [bpd, ("OFD", tuple(long[0]), tuple(long[1]))]
    marks += [(f"D{i}", c.p, c.q) for i, c in enumerate(calipers, 1)]
    return tuple(marks)
