"""Gestational age and head-circumference growth: what an HC figure means for this pregnancy.

Two published models, each used only inside the range its study covered (outside it the
functions raise ``OutOfRange`` with a sentence for the user, never an extrapolated figure):

- Hadlock FP, Deter RL, Harrist RB, Park SK. Estimating fetal age: computer-assisted analysis
  of multiple fetal growth parameters. Radiology 1984;152:497-501.
  GA (weeks) = 8.96 + 0.540 * HC + 0.0003 * HC^3, HC in cm. The study's fetuses were 14 to 42
  menstrual weeks, so estimates outside 14+0..42+0 weeks are refused.
- INTERGROWTH-21st fetal growth standard for head circumference: Papageorghiou AT, Ohuma EO,
  Altman DG, et al. International standards for fetal growth based on serial ultrasound
  measurements: the Fetal Growth Longitudinal Study of the INTERGROWTH-21st Project.
  Lancet 2014;384:869-79 (Table 3 equations; GA in exact weeks, HC in mm):
      mean = -28.2849 + 1.69267 GA^2 - 0.397485 GA^2 ln(GA)
      SD   = 1.98735 + 0.0136772 GA^3 - 0.00726264 GA^3 ln(GA) + 0.000976253 GA^3 ln(GA)^2
  Valid from 14+0 to 40+0 weeks. HC is taken as normally distributed around the mean with that
  SD at each GA (the paper's centiles are mean + z * SD), so percentile = Phi(z).

Gestational age is counted in days from the first day of the last menstrual period (LMP), as
both models do. A given age that is implausible for a scan with a head to measure (outside
10-43 weeks, or far from the age HC gives) is more often a mistyped date than a fact: it is
questioned (``dates_question``) and gives no percentile until a person says the dates are right.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, timedelta
from statistics import NormalDist

HADLOCK_NAME = "Hadlock 1984"
HADLOCK_RANGE_WEEKS = (14.0, 42.0)
INTERGROWTH_NAME = "INTERGROWTH-21st"
INTERGROWTH_RANGE_WEEKS = (14.0, 40.0)
#: z-scores beyond this are highlighted wherever they are shown.
Z_LIMIT = 2.0
#: What stands in for GA and percentile while a flagged contour waits for a person's review:
#: a figure computed from a doubtful HC must not look like a result.
REVIEW_FIRST = "GA and percentile: review the contour first"
#: Gestational ages a scan of a fetal head can plausibly have (weeks); a given age outside is
#: questioned before it is used.
PLAUSIBLE_GA_WEEKS = (10, 43)
#: A given age this many weeks or more from the age by HC (Hadlock) is questioned: beyond the
#: spread of GA by HC even late in pregnancy (about +/-3.5 weeks at term), so far more often a
#: wrong date (a month or a year mistyped) than a head that small or large.
GA_APART_WEEKS = 4
#: The head circumferences a fetal head can plausibly have, in mm: a calibration that puts HC
#: outside is questioned before use. The largest is INTERGROWTH-21st's mean + 3 SD at 40+0
#: weeks (333.9 + 3 x 12.9 = 372.7 mm), above Hadlock's head at 42+0 weeks (358 mm by its
#: formula). Neither model reaches below 14+0 weeks (INTERGROWTH's mean - 3 SD there is 81 mm),
#: while heads are measured from the first trimester on: 105 of HC18's 801 reference heads lie
#: below 81 mm, the smallest at 44.3 mm. The smallest is therefore HC18's smallest head less
#: 10%, rounded down: 40 mm.
PLAUSIBLE_HC_MM = (40.0, 372.7)


class OutOfRange(ValueError):
    """A value lies outside what a model was built on; the message says so for the user."""


@dataclass(frozen=True, order=True)
class GestationalAge:
    """Whole days since the first day of the last menstrual period."""

    days: int

    def __post_init__(self):
        if not 0 <= self.days <= 45 * 7:
            raise ValueError(f"a gestational age of {self.days} days is not plausible")

    @classmethod
    def from_weeks(cls, weeks: float) -> GestationalAge:
        return cls(round(weeks * 7))

    @property
    def weeks(self) -> float:
        return self.days / 7.0

    def __str__(self) -> str:
        return f"{self.days // 7}w+{self.days % 7}d"


_GA_TEXT = re.compile(r"^(\d{1,2})(?:\s*(?:w|wk|wks|week|weeks))?(?:(?:\s*\+\s*|\s+|(?<=[a-z]))"
                      r"(\d)(?:\s*(?:d|day|days))?)?$", re.IGNORECASE)


def parse_ga(text: str) -> GestationalAge:
    """'20+3', '20w+3d', '20w3d', '20 weeks 3 days' or '20' -> GestationalAge(143)."""
    m = _GA_TEXT.match((text or "").strip())
    if not m or (m.group(2) is not None and int(m.group(2)) > 6):
        raise ValueError(f"cannot read {text!r} as weeks+days (e.g. 20+3)")
    return GestationalAge(int(m.group(1)) * 7 + int(m.group(2) or 0))


def parse_date(text: str, what: str = "date") -> date:
    """A typed date, taken whole in the one form the app shows: year-month-day ("2026-01-20",
    also "2026-1-20"). Any other form is refused (ValueError with a sentence for the user),
    never guessed: "05/01/2026" is the 5th of January in one country and May in another."""
    m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", (text or "").strip())
    try:
        if m:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise ValueError(f"{text.strip()!r} is not a calendar date (the {what})") from None
    raise ValueError(f"type the {what} as year-month-day, e.g. 2026-01-20 "
                     f"(not {text.strip()!r})")


def ga_from_lmp(lmp: date, exam: date) -> GestationalAge:
    """GA on the exam date from the first day of the last menstrual period."""
    if exam < lmp:
        raise ValueError("the exam date lies before the last menstrual period")
    return GestationalAge((exam - lmp).days)


def ga_from_edd(edd: date, exam: date) -> GestationalAge:
    """GA on the exam date from the estimated date of delivery (40+0 weeks on the EDD)."""
    return ga_from_lmp(edd - timedelta(days=EDD_DAYS), exam)


def ga_from_dating_scan(scan_date: date, ga_at_scan: GestationalAge, exam: date) -> GestationalAge:
    """GA on the exam date, carried forward from an earlier dating scan's GA."""
    if exam < scan_date:
        raise ValueError("the exam date lies before the dating scan")
    return GestationalAge(ga_at_scan.days + (exam - scan_date).days)


#: ``Annotation.extra`` key of what the user entered about the pregnancy's age.
PREGNANCY_KEY = "pregnancy"
#: How the pregnancy's age was given; stored as ``record["method"]`` (see ``ga_from_record``).
GA_METHODS = ("weeks+days", "edd", "lmp", "dating scan")
#: Days from the first day of the last menstrual period to the estimated date of delivery
#: (Naegele's rule, 40+0 weeks): an EDD dates the pregnancy as its LMP 280 days before does.
EDD_DAYS = 280


def ga_from_record(record: dict | None) -> GestationalAge | None:
    """The GA on the exam day from what the user entered, as the app saves it in the sidecar's
    ``extra["pregnancy"]`` (or the patient's dating with the scan's exam date, see
    ``core.record.patients``): ``{"method": "weeks+days", "ga": "20+3"}``, ``{"method": "edd",
    "edd": "2026-10-08", "exam_date": ...}``, ``{"method": "lmp",
    "lmp": "2026-01-01", "exam_date": "2026-05-24"}`` or ``{"method": "dating scan",
    "scan_date": ..., "scan_ga": "12+2", "exam_date": ...}`` (dates ISO). None when nothing was
    given; ValueError, with a message for the user, when what was given does not add up."""
    if not record or not record.get("method"):
        return None
    method = record["method"]
    try:
        if method == "weeks+days":
            return parse_ga(record["ga"])
        exam = parse_date(record["exam_date"], "exam date")
        if method == "edd":
            return ga_from_edd(parse_date(record["edd"], "EDD"), exam)
        if method == "lmp":
            return ga_from_lmp(parse_date(record["lmp"], "LMP"), exam)
        if method == "dating scan":
            return ga_from_dating_scan(parse_date(record["scan_date"], "dating scan's date"),
                                       parse_ga(record["scan_ga"]), exam)
    except KeyError as exc:
        raise ValueError(f"missing {exc.args[0]} for GA by {method}") from None
    raise ValueError(f"unknown way of giving the gestational age: {method!r}")


def pregnancy_dates(record: dict | None) -> tuple[date | None, date | None]:
    """The estimated date of delivery and the LMP a pregnancy ``record`` (``ga_from_record``'s)
    states or implies, for a report's summary: the EDD given, or the one its LMP, dating scan
    or GA on the exam date makes (``EDD_DAYS`` after the age 0); the LMP only when given.
    (None, None) when the record gives no date or does not add up."""
    try:
        ga = ga_from_record(record)
    except ValueError:
        return None, None
    if ga is None:
        return None, None
    method = record["method"]
    if method == "edd":
        return parse_date(record["edd"], "EDD"), None
    if method == "lmp":
        lmp = parse_date(record["lmp"], "LMP")
        return lmp + timedelta(days=EDD_DAYS), lmp
    if method == "dating scan":
        day = parse_date(record["scan_date"], "dating scan's date")
        return day + timedelta(days=EDD_DAYS - parse_ga(record["scan_ga"]).days), None
    exam = record.get("exam_date")
    return (parse_date(exam) + timedelta(days=EDD_DAYS - ga.days) if exam else None), None


def saved_ga(record: dict | None) -> GestationalAge | None:
    """The GA a pregnancy ``record`` gives; None when none was given or it does not add up
    (the pregnancy panel tells the user why, so exports and reports just leave it out)."""
    try:
        return ga_from_record(record)
    except ValueError:
        return None


#: ``record`` key: a person said the dates are right although they were questioned.
DATES_CHECKED = "dates_checked"


def dates_question(ga: GestationalAge, hc_mm: float | None) -> str | None:
    """Why the given ``ga`` should be checked before it is used, for a head of ``hc_mm`` (None:
    no HC in mm), or None when it is plausible: outside ``PLAUSIBLE_GA_WEEKS``, or
    ``GA_APART_WEEKS`` or more from the age by HC."""
    low, high = PLAUSIBLE_GA_WEEKS
    if not low * 7 <= ga.days <= high * 7:
        return (f"Check the dates: the gestational age given, {ga}, lies outside "
                f"{low}-{high} weeks")
    try:
        by_hc = hadlock_ga(hc_mm) if hc_mm is not None else None
    except OutOfRange:
        by_hc = None
    if by_hc is not None and abs(ga.days - by_hc.days) >= GA_APART_WEEKS * 7:
        return (f"Check the dates: the gestational age given, {ga}, is "
                f"{abs(ga.days - by_hc.days) / 7:.0f} weeks from the age by HC, {by_hc}")
    return None


def dated_ga(record: dict | None, hc_mm: float | None
             ) -> tuple[GestationalAge | None, str | None]:
    """The GA a pregnancy ``record`` (``ga_from_record``'s) gives for use (None while it is
    questioned and nobody has said the dates are right), and the question, if any, in words
    (see ``dates_question``)."""
    ga = saved_ga(record)
    if ga is None:
        return None, None
    question = dates_question(ga, hc_mm)
    if question is None or (record or {}).get(DATES_CHECKED):
        return ga, None
    return None, f"{question}; no percentile until they are confirmed"


def hadlock_ga(hc_mm: float) -> GestationalAge:
    """Gestational age estimated from HC alone (Hadlock 1984)."""
    hc_cm = hc_mm / 10.0
    weeks = 8.96 + 0.540 * hc_cm + 0.0003 * hc_cm ** 3
    low, high = HADLOCK_RANGE_WEEKS
    if not low <= weeks <= high:
        raise OutOfRange(f"HC {hc_mm:.0f} mm lies outside {HADLOCK_NAME}'s range "
                         f"({low:.0f}-{high:.0f} weeks): no age estimate")
    return GestationalAge.from_weeks(weeks)


def intergrowth_hc_mean_sd(ga: GestationalAge) -> tuple[float, float]:
    """Mean and SD (mm) of HC at ``ga`` by the INTERGROWTH-21st standard."""
    low, high = INTERGROWTH_RANGE_WEEKS
    t = ga.weeks
    if not low <= t <= high:
        raise OutOfRange(f"GA {ga} lies outside the {INTERGROWTH_NAME} HC standard "
                         f"({low:.0f}+0 to {high:.0f}+0 weeks): no percentile")
    log_t = math.log(t)
    mean = -28.2849 + 1.69267 * t ** 2 - 0.397485 * t ** 2 * log_t
    sd = (1.98735 + 0.0136772 * t ** 3 - 0.00726264 * t ** 3 * log_t
          + 0.000976253 * t ** 3 * log_t ** 2)
    return mean, sd


@dataclass(frozen=True)
class HCCentile:
    ga: GestationalAge
    hc_mm: float
    z: float
    percentile: float  # 0..100

    @property
    def unusual(self) -> bool:
        """Beyond +/-2 SD: outside the chart's 2.3rd-97.7th percentile band."""
        return abs(self.z) > Z_LIMIT

    def line(self) -> str:
        mark = f" BEYOND +/-{Z_LIMIT:g} SD" if self.unusual else ""
        return (f"HC at {self.ga}: {_ordinal(self.percentile)} percentile, z {self.z:+.2f}{mark} "
                f"({INTERGROWTH_NAME})")


def hc_centile(hc_mm: float, ga: GestationalAge) -> HCCentile:
    mean, sd = intergrowth_hc_mean_sd(ga)
    z = (hc_mm - mean) / sd
    return HCCentile(ga, hc_mm, z, 50.0 * (1.0 + math.erf(z / math.sqrt(2.0))))


@dataclass(frozen=True)
class GrowthPoint:
    """One measurement placed on a growth chart (HC, BPD or OFD against gestational age).

    The chart draws what it is given and decides nothing: ``confirmed`` points of a patient are
    joined in time order, an unconfirmed one is drawn apart and never joined, and the ``latest``
    is highlighted. Built by the record (one scan, or a patient's serial scans)."""
    ga_days: int
    value_mm: float
    confirmed: bool
    latest: bool
    exam_date: date | None = None


#: The centile lines a growth chart draws: the INTERGROWTH-21st chart's 3rd, 10th, 50th, 90th
#: and 97th (its published table also has the 5th and 95th).
CHART_CENTILES = (3, 10, 50, 90, 97)
#: The gestational ages a chart spans (days): the standard's whole range, 14+0 to 40+0 weeks.
CHART_DAYS = (round(INTERGROWTH_RANGE_WEEKS[0] * 7), round(INTERGROWTH_RANGE_WEEKS[1] * 7))


def hc_at_centile(ga: GestationalAge, centile: float) -> float:
    """The HC (mm) of the ``centile``-th centile at ``ga`` (INTERGROWTH-21st: mean + z SD,
    the same model as ``hc_centile``, so the chart's lines and the text's percentile agree)."""
    mean, sd = intergrowth_hc_mean_sd(ga)
    return mean + NormalDist().inv_cdf(centile / 100.0) * sd


def hc_centile_curve(centile: float) -> list[tuple[int, float]]:
    """(GA in days, HC in mm) of one centile line, a point a day over ``CHART_DAYS``."""
    first, last = CHART_DAYS
    return [(d, hc_at_centile(GestationalAge(d), centile)) for d in range(first, last + 1)]


def chart_point(hc_mm: float | None, ga: GestationalAge | None, confirmed: bool,
                review_first: bool = False) -> tuple[GrowthPoint | None, str]:
    """One scan's point on the HC chart and the chart's line of words: the percentile line
    (with the z-score) when the point is drawn, else why there is none (no HC in mm, a flagged
    contour nobody reviewed, no gestational age given, an age outside the standard)."""
    if hc_mm is None:
        return None, "No point on the chart: no HC in mm (the pixel size is unknown)"
    if review_first:
        return None, "No point on the chart: review the contour first"
    if ga is None:
        return None, ("No point on the chart: no gestational age given "
                      "(enter the pregnancy's dates)")
    try:
        line = hc_centile(hc_mm, ga).line()
    except OutOfRange as exc:
        return None, f"No point on the chart: {exc}"
    return GrowthPoint(ga.days, hc_mm, confirmed, latest=True), line


#: The columns of a report's table of a patient's scans (``growth_row``).
GROWTH_TABLE_HEAD = ("Exam date", "GA", "HC", "Centile (INTERGROWTH-21st)", "Review")


def growth_row(point: GrowthPoint) -> tuple[str, str, str, str, str]:
    """One scan of a patient's table in words: date, GA, HC, centile with z, review state."""
    ga = GestationalAge(point.ga_days)
    try:
        c = hc_centile(point.value_mm, ga)
        centile = f"{_ordinal(c.percentile)}, z {c.z:+.2f}"
    except OutOfRange as exc:
        centile = str(exc).split(":")[-1].strip()
    return (point.exam_date.isoformat() if point.exam_date else "date not known", str(ga),
            f"{point.value_mm:.1f} mm", centile,
            "confirmed" if point.confirmed else "not confirmed")


def _ordinal(percentile: float) -> str:
    if percentile < 1.0:
        return "<1st"
    if percentile > 99.0:
        return ">99th"
    n = round(percentile)
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def growth_lines(hc_mm: float | None, ga: GestationalAge | None = None,
                 review_first: bool = False) -> list[str]:
    """The lines the panel, exports and reports show: GA from HC, and the percentile for a
    known GA, each naming its model; a value outside a model's range is said, not computed.
    With ``review_first`` (a flagged contour nobody has reviewed) both are withheld."""
    if hc_mm is None:
        return []
    if review_first:
        return [REVIEW_FIRST]
    lines = []
    try:
        lines.append(f"GA from HC {hadlock_ga(hc_mm)} ({HADLOCK_NAME}, valid 14-42 weeks)")
    except OutOfRange as exc:
        lines.append(str(exc))
    if ga is not None:
        try:
            lines.append(hc_centile(hc_mm, ga).line())
        except OutOfRange as exc:
            lines.append(str(exc))
    return lines
