"""The head measurement as a DICOM Structured Report, the form OB reporting systems read.

Reporting systems take fetal biometry from the OB-GYN Ultrasound Procedure Report (PS3.16
TID 5000) that ultrasound machines send, so the measurement reaches the report without being
typed again. The document holds one Fetal Biometry section (TID 5005) with a Biometry Group
(TID 5008) for each of HC, BPD and OFD: the measurement in mm, as the record shows it, with
the points it was measured on in the source image, and, for HC, the gestational age by
Hadlock 1984 and the INTERGROWTH-21st percentile and z-score when the pregnancy's age is
known. The BPD carries its convention (outer-to-outer or outer-to-inner) as its Measurement
Method (TID 300 row "HAS CONCEPT MOD"): PS3.16 has no coded concept for either convention (CID
12013 holds the equations that date by BPD, not the caliper placement), so the method is
stated in text, as Comprehensive SR allows. A dated pregnancy also gets the procedure summary
(TID 5002): its EDD, its LMP when given, and the GA at this scan.

Who stands behind the figures is part of the document: the device observer is fetalview with
its model version; a clinician who confirmed (or corrected and confirmed) the contour is the
person observer and the verifying observer, and the document is then VERIFIED and FINAL. An
automatic or unconfirmed result is UNVERIFIED and PRELIMINARY, and its comment says so, as does
any review flag, so a doubtful result never reads as a confident one. A result read from a
report in the PACS names that report as its predecessor (Predecessor Documents Sequence): the
new report supersedes it, and nothing in the PACS is deleted (``sr_reader`` reads them back).

highdicom builds the content tree and checks it (value types, relationships, units); the codes
are those of PS3.16, each with the table it comes from.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import Enum

import highdicom as hd
import numpy as np
from pydicom.dataset import Dataset
from pydicom.sr.coding import Code
from pydicom.uid import generate_uid

from fetalview import __version__
from fetalview.core.measure.biometry import OUTER_INNER, OUTER_OUTER
from fetalview.core.measure.geometry import Ellipse
from fetalview.core.measure.growth import GestationalAge, OutOfRange, hadlock_ga, hc_centile
from fetalview.core.record.pacs_origin import SrReference
from fetalview.core.record.result import ScanResult
from fetalview.core.record.review import EDITED
from fetalview.core.results import dicom_values

# PS3.16 codes. Tables are those of PS3.16 2025; LOINC check digits verified by the mod-10 rule.
#: CID 12024 "OB-GYN Ultrasound Report Document Title" (TID 5000 row 1).
REPORT_TITLE = Code("125000", "DCM", "OB-GYN Ultrasound Procedure Report")
#: TID 5005 "Fetal Biometry Section" row 1.
FETAL_BIOMETRY = Code("125002", "DCM", "Fetal Biometry")
#: TID 5008 "Fetal Biometry Group" row 1.
BIOMETRY_GROUP = Code("125005", "DCM", "Biometry Group")
#: CID 12005 "Fetal Biometry Measurements" (TID 5005's $BiometryType).
HEAD_CIRCUMFERENCE = Code("11984-2", "LN", "Head Circumference")
BIPARIETAL_DIAMETER = Code("11820-8", "LN", "Biparietal Diameter")
OCCIPITAL_FRONTAL_DIAMETER = Code("11851-3", "LN", "Occipital-Frontal Diameter")
#: TID 5008 row 3; also CID 12019 "OB-GYN Fetus Summary" (TID 5003, in the summary).
GESTATIONAL_AGE = Code("18185-9", "LN", "Gestational Age")
#: TID 5002 "OB-GYN Procedure Summary Section" row 1, and CID 12003 "OB-GYN Dates" (its DATE
#: items). LOINC retired 11955-2 for the LMP; CID 12003 names 8665-2.
SUMMARY = Code("121111", "DCM", "Summary")
EDD = Code("11778-8", "LN", "EDD")
LMP = Code("8665-2", "LN", "LMP")
#: CID 228 "Equation or Table" (TID 5008 rows 4 and 8).
EQUATION = Code("121420", "DCM", "Equation")
EQUATION_CITATION = Code("121421", "DCM", "Equation Citation")
#: CID 12013 "Gestational Age Equations and Tables": GA from HC by Hadlock 1984.
HC_HADLOCK_1984 = Code("11932-1", "LN", "HC, Hadlock 1984")
#: CID 12017 "Growth Distribution Rank" (TID 5008 row 7).
GROWTH_PERCENTILE_RANK = Code("125012", "DCM", "Growth Percentile Rank")
GROWTH_Z_SCORE = Code("125013", "DCM", "Growth Z-score")
#: CID 7003 "Purpose of Reference": the image region a measurement was made on (TID 320).
SOURCE_OF_MEASUREMENT = Code("121112", "DCM", "Source of Measurement")
#: TID 300 "Measurement Method" concept modifier, stated in text (no code exists for it).
MEASUREMENT_METHOD = Code("370129005", "SCT", "Measurement Method")
#: The BPD conventions in words, as the Measurement Method says them.
BPD_METHODS = {OUTER_OUTER: "outer-to-outer (outer edge to outer edge of the skull)",
               OUTER_INNER: "outer-to-inner (leading edge to leading edge of the skull)"}
#: TID 1001/2002 comment (CID 12101 member used as a concept name).
COMMENT = Code("121106", "DCM", "Comment")
#: CID 270 "Observer Type".
PERSON = Code("121006", "DCM", "Person")
DEVICE = Code("121007", "DCM", "Device")
#: UCUM units as PS3.16 writes them (CID 7181 for '1' and '%', CID 7456 for days).
MILLIMETRE = Code("mm", "UCUM", "mm")
DAYS = Code("d", "UCUM", "days")
PERCENT = Code("%", "UCUM", "Percent")
NO_UNITS = Code("1", "UCUM", "no units")

MANUFACTURER = "fetalview"
#: The multi-frame image SOP classes a scan may come in (PS3.4 B.5): only their instances may
#: have a frame referenced.
MULTI_FRAME_CLASSES = frozenset({
    "1.2.840.10008.5.1.4.1.1.3.1",   # Ultrasound Multi-frame Image
    "1.2.840.10008.5.1.4.1.1.6.2",   # Enhanced US Volume
    "1.2.840.10008.5.1.4.1.1.7.1",   # Multi-frame Single Bit Secondary Capture
    "1.2.840.10008.5.1.4.1.1.7.2",   # Multi-frame Grayscale Byte Secondary Capture
    "1.2.840.10008.5.1.4.1.1.7.3",   # Multi-frame Grayscale Word Secondary Capture
    "1.2.840.10008.5.1.4.1.1.7.4",   # Multi-frame True Color Secondary Capture
    "1.2.840.10008.5.1.4.1.1.77.1.1.1",  # Video Endoscopic Image
})
#: Written as UTF-8 (PS3.3 C.12.1.1.2 "ISO_IR 192"), whatever the source's character set.
UTF8 = "ISO_IR 192"
#: Verifying Organization is Type 1 once verified; said plainly when the clinic gave none.
UNSTATED_ORGANIZATION = "not stated"
#: The INTERGROWTH-21st HC standard has no code in CID 12015, so it is cited in words.
INTERGROWTH_CITATION = ("INTERGROWTH-21st fetal growth standard, head circumference: "
                        "Papageorghiou et al., Lancet 2014;384:869-79")


class ReviewState(str, Enum):
    """What a clinician did with the model's contour (as the app's sign-off records it)."""

    AUTOMATIC = "automatic"      # nobody looked at it
    EDITED = "edited"            # changed by hand, not (yet) confirmed
    CONFIRMED = "confirmed"      # accepted as the model drew it
    CORRECTED = "corrected"      # changed by hand and confirmed

    @property
    def confirmed(self) -> bool:
        return self in (ReviewState.CONFIRMED, ReviewState.CORRECTED)


@dataclass(frozen=True)
class Review:
    """Who vouches for the result and when; ``operator`` is required once confirmed."""

    state: ReviewState = ReviewState.AUTOMATIC
    operator: str = ""
    when: dt.datetime | None = None  # local time in the report (DICOM dates carry no zone)
    organization: str = ""  # the clinic, as DICOM's Verifying Organization

    def __post_init__(self):
        object.__setattr__(self, "state", ReviewState(self.state))
        if self.when is not None and self.when.tzinfo is not None:  # e.g. the sidecar's UTC
            object.__setattr__(self, "when", self.when.astimezone().replace(tzinfo=None))
        if self.state.confirmed and not self.operator.strip():
            raise ValueError("a confirmed result needs the name of whoever confirmed it")

    def sentence(self) -> str:
        when = f" on {self.when:%Y-%m-%d %H:%M}" if self.when else ""
        return {
            ReviewState.AUTOMATIC: "Automatic measurement, not reviewed by a clinician.",
            ReviewState.EDITED: "Contour edited by hand, not confirmed.",
            ReviewState.CONFIRMED: f"Model's contour confirmed by {self.operator}{when}.",
            ReviewState.CORRECTED: f"Contour corrected and confirmed by {self.operator}{when}.",
        }[self.state]


@dataclass(frozen=True)
class SourceImage:
    """The image the head was measured on: its SOP Class/Instance UIDs and, in a cine loop,
    the 1-based frame number."""

    sop_class_uid: str
    sop_instance_uid: str
    frame_number: int | None = None

    @classmethod
    def of(cls, ds: Dataset, frame: int = 0, notes: list[str] | None = None) -> SourceImage:
        """A frame is referenced only in an image of a multi-frame SOP class (PS3.3 C.17.3.2.1
        forbids it otherwise): a single-frame Ultrasound Image that says it holds frames is
        referenced whole, and ``notes`` says which frame was measured."""
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        sop_class = str(ds.SOPClassUID)
        number = frame + 1 if frames > 1 else None
        if number is not None and sop_class not in MULTI_FRAME_CLASSES:
            if notes is not None:
                notes.append(f"the source is a single-frame image type holding {frames} frames: "
                             f"the SR points at the image, not at frame {number} measured")
            number = None
        return cls(sop_class, str(ds.SOPInstanceUID), number)


def device_uid(model_version: str) -> str:
    """One stable Device Observer UID per model version, so a PACS can tell them apart."""
    return generate_uid(entropy_srcs=[MANUFACTURER, model_version])


def review_of(result: ScanResult, organization: str = "") -> Review:
    """The review the report states for ``result``: who confirmed it and when while the
    confirmation stands; edited since (or never confirmed) otherwise."""
    signoff = result.signoff
    if signoff is not None:
        return Review(ReviewState.CORRECTED if signoff.corrected else ReviewState.CONFIRMED,
                      operator=signoff.by, when=dt.datetime.fromisoformat(signoff.at),
                      organization=organization)
    return Review(ReviewState.EDITED if result.state == EDITED else ReviewState.AUTOMATIC,
                  organization=organization)


def build_sr(evidence: Dataset, source: SourceImage, result: ScanResult,
             organization: str, uids: tuple[str, str]) -> hd.sr.ComprehensiveSR:
    """The Comprehensive SR of one measured scan's ``result``, in ``evidence``'s patient and
    study.

    Args:
        evidence: the dataset whose patient and study the report belongs to, and which holds
            the image referenced by ``source`` (the source DICOM, or for a PNG/JPEG scan the
            Secondary Capture made of it).
        result: the record; its ellipse is in that image's pixel coordinates, and HC, BPD and
            OFD are reported as it shows them: the BPD in its convention, on the points it was
            measured between (the ellipse's short axis, or the outer-to-inner calipers).
        organization: the clinic, as DICOM's Verifying Organization.
        uids: the SR's Series and SOP Instance UIDs (``dicom_results`` derives them from the
            result, so a re-send of the same result is the same instance again).

    Raises ValueError for a measurement without a pixel size: a report holds millimetres only;
    ``DicomValueError`` for a sign-off name, clinic or model version that DICOM cannot hold as
    it is (``Dr^Who\\X`` would be two verifying observers): refused, never rewritten.
    """
    measurement, ellipse, ga = result.measurement, result.ellipse, result.ga
    review = review_of(result, organization)
    model_version = dicom_values.text("LO", result.model_version or "drawn by hand",
                                      "the model version")
    if review.state.confirmed:  # PN: Dr^Who\X would be read as two verifying observers
        dicom_values.person_name(review.operator, "the name of whoever confirmed it")
    dicom_values.text("LO", review.organization, "the clinic's name")
    review_note = ", ".join(result.review_reasons)
    if measurement is None or not measurement.in_mm:
        raise ValueError("no pixel size: a structured report holds millimetres, not pixels")
    section = hd.sr.ContainerContentItem(FETAL_BIOMETRY, template_id="5005",
                                         relationship_type="CONTAINS")
    major, minor = _major_minor(ellipse)
    section.ContentSequence = [
        _hc_group(measurement.hc, _region("ELLIPSE", np.vstack([major, minor]), source), ga),
        _bpd_group(measurement, _region("POLYLINE", np.asarray(result.bpd_ends), source)),
        _group(OCCIPITAL_FRONTAL_DIAMETER, measurement.ofd, _region("POLYLINE", major, source)),
    ]
    root = hd.sr.ContainerContentItem(REPORT_TITLE, template_id="5000")
    comment = " ".join(filter(None, [
        review.sentence(), f"Review flag: {review_note}." if review_note else "",
        f"Pixel size {measurement.pixel_size.mm_per_pixel:.4f} mm "
        f"({measurement.pixel_size.source}).",
        "Decision support only."]))
    root.ContentSequence = [
        *_observation_context(review, model_version),
        *_summary(result),
        section,
        hd.sr.TextContentItem(COMMENT, comment, relationship_type="CONTAINS"),
    ]
    when = review.when or dt.datetime.now()
    sr = hd.sr.ComprehensiveSR(
        evidence=[evidence], content=root,
        series_instance_uid=uids[0], series_number=9101,
        sop_instance_uid=uids[1], instance_number=1, manufacturer=MANUFACTURER,
        is_complete=True, is_final=review.state.confirmed, is_verified=review.state.confirmed,
        institution_name=review.organization.strip() or None,
        verifying_observer_name=review.operator if review.state.confirmed else None,
        verifying_organization=(review.organization.strip() or UNSTATED_ORGANIZATION)
        if review.state.confirmed else None,
        specific_character_set=UTF8)  # names typed or copied need not be ASCII
    sr.SeriesDescription = "fetalview head biometry"
    sr.SoftwareVersions = [f"fetalview {__version__}", model_version]
    sr.ContentDate, sr.ContentTime = when.strftime("%Y%m%d"), when.strftime("%H%M%S")
    # the dates above are local time; the zone lets a workstation elsewhere read them right
    sr.TimezoneOffsetFromUTC = when.astimezone().strftime("%z")
    if review.state.confirmed:
        sr.VerifyingObserverSequence[0].VerificationDateTime = when.strftime("%Y%m%d%H%M%S")
    if result.replaces is not None:  # a result read from the PACS: this report supersedes it
        sr.PredecessorDocumentsSequence = [_predecessor(result.replaces)]
    return sr


def _predecessor(ref: SrReference) -> Dataset:
    """PS3.3 C.17.2.3: the report this one replaces, by study, series and instance; the PACS
    keeps both, and a reader follows the chain to the newest."""
    sop = Dataset()
    sop.ReferencedSOPClassUID, sop.ReferencedSOPInstanceUID = ref.sop_class_uid, \
        ref.sop_instance_uid
    series = Dataset()
    series.SeriesInstanceUID, series.ReferencedSOPSequence = ref.series_instance_uid, [sop]
    study = Dataset()
    study.StudyInstanceUID, study.ReferencedSeriesSequence = ref.study_instance_uid, [series]
    return study


def _summary(result: ScanResult) -> list:
    """TID 5002, before the biometry (TID 5000 row 7): the pregnancy's EDD and LMP (CID 12003)
    and the GA at this scan from them (TID 5003, CID 12019), when the record uses an age."""
    if result.ga is None:
        return []
    summary = hd.sr.ContainerContentItem(SUMMARY, template_id="5002",
                                         relationship_type="CONTAINS")
    items = [hd.sr.DateContentItem(name, day, relationship_type="CONTAINS")
             for name, day in ((EDD, result.edd), (LMP, result.lmp)) if day is not None]
    items.append(hd.sr.NumContentItem(GESTATIONAL_AGE, result.ga.days, DAYS,
                                      relationship_type="CONTAINS"))
    summary.ContentSequence = items
    return [summary]


def _observation_context(review: Review, model_version: str) -> list:
    """TID 1002: the model as device observer, and who confirmed it as person observer."""
    device = hd.sr.ObserverContext(DEVICE, hd.sr.DeviceObserverIdentifyingAttributes(
        uid=device_uid(model_version), name=MANUFACTURER, manufacturer_name=MANUFACTURER,
        model_name=model_version))
    person = (hd.sr.ObserverContext(PERSON, hd.sr.PersonObserverIdentifyingAttributes(
        name=review.operator)) if review.state.confirmed else None)
    return list(hd.sr.ObservationContext(observer_person_context=person,
                                         observer_device_context=device))


def _measurement(name: Code, value_mm: float, region) -> hd.sr.NumContentItem:
    """TID 300: the value in mm, inferred from the points it was measured on (TID 320)."""
    item = hd.sr.NumContentItem(name, round(float(value_mm), 2), MILLIMETRE,
                                relationship_type="CONTAINS")
    item.ContentSequence = [region]
    return item


def _group(name: Code, value_mm: float, region, extra=()) -> hd.sr.ContainerContentItem:
    # SEPARATE: each item is shown with its name ("Head Circumference: 190.49 mm"), not run
    # together as one sentence of bare numbers (dcmtk's dsr2html, and viewers like it)
    group = hd.sr.ContainerContentItem(BIOMETRY_GROUP, template_id="5008",
                                       relationship_type="CONTAINS",
                                       is_content_continuous=False)
    group.ContentSequence = [_measurement(name, value_mm, region), *extra]
    return group


def _bpd_group(measurement, region) -> hd.sr.ContainerContentItem:
    """BPD with its convention as the Measurement Method, and an unconfirmed suggestion said."""
    group = _group(BIPARIETAL_DIAMETER, measurement.bpd, region)
    method = BPD_METHODS[measurement.bpd_convention]
    if not measurement.bpd_confirmed:
        method += ", suggested from the image, not confirmed"
    group.ContentSequence[0].ContentSequence.append(hd.sr.TextContentItem(
        MEASUREMENT_METHOD, method, relationship_type="HAS CONCEPT MOD"))
    return group


def _hc_group(hc_mm: float, region, ga: GestationalAge | None) -> hd.sr.ContainerContentItem:
    """HC with GA by Hadlock 1984 (TID 5008 rows 3-4) and, for a known GA, the INTERGROWTH-21st
    rank (rows 7-8); a value outside a model's range is left out, never extrapolated."""
    extra = []
    try:
        estimate = hadlock_ga(hc_mm)
    except OutOfRange:
        estimate = None
    if estimate is not None:
        age = hd.sr.NumContentItem(GESTATIONAL_AGE, estimate.days, DAYS,
                                   relationship_type="CONTAINS")
        age.ContentSequence = [hd.sr.CodeContentItem(EQUATION, HC_HADLOCK_1984,
                                                     relationship_type="INFERRED FROM")]
        extra.append(age)
    try:
        centile = hc_centile(hc_mm, ga) if ga is not None else None
    except OutOfRange:
        centile = None
    if centile is not None:
        for name, value, unit in ((GROWTH_PERCENTILE_RANK, centile.percentile, PERCENT),
                                  (GROWTH_Z_SCORE, centile.z, NO_UNITS)):
            rank = hd.sr.NumContentItem(name, round(value, 2), unit, relationship_type="CONTAINS")
            rank.ContentSequence = [hd.sr.TextContentItem(
                EQUATION_CITATION, f"{INTERGROWTH_CITATION}; GA {ga}",
                relationship_type="INFERRED FROM")]
            extra.append(rank)
    return _group(HEAD_CIRCUMFERENCE, hc_mm, region, extra)


def _region(graphic_type: str, points: np.ndarray, source: SourceImage):
    """SCOORD in the source image's pixel coordinates, SELECTED FROM that image. DICOM puts
    (0, 0) at the top-left pixel's outer corner (PS3.3 C.18.6.1.1); fetalview at its centre."""
    item = hd.sr.ScoordContentItem(SOURCE_OF_MEASUREMENT, graphic_type,
                                   np.asarray(points, dtype=float) + 0.5,
                                   pixel_origin_interpretation="VOLUME",
                                   relationship_type="INFERRED FROM")
    item.ContentSequence = [hd.sr.SourceImageForRegion(
        source.sop_class_uid, source.sop_instance_uid,
        [source.frame_number] if source.frame_number else None)]
    return item


def _major_minor(ellipse: Ellipse) -> tuple[np.ndarray, np.ndarray]:
    """The ends of the major axis and of the minor axis; an SR ELLIPSE lists the major axis's
    two ends first (PS3.3 C.18.6.1.2)."""
    ends_a, ends_b = ellipse.axis_endpoints()
    return (ends_a, ends_b) if ellipse.a >= ellipse.b else (ends_b, ends_a)
