"""A pregnancy dated once for its patient, and the patient's serial scans (issue 19 items 2, 3).

The dating (EDD, LMP or a dating scan) is kept per Patient ID and dates each scan by its own
exam date; a patient's scans on three dates give three growth points in date order, and a head
that falls from the 60th to the 5th centile is a finding in the record's words.
"""

from __future__ import annotations

import json
from datetime import date, timedelta


from fetalview.core.measure.biometry import measure
from fetalview.core.measure.geometry import Ellipse
from fetalview.core.measure.growth import (GestationalAge, ga_from_record, hc_centile,
                                           intergrowth_hc_mean_sd)
from fetalview.core.measure.pixelsize import PixelSize
from fetalview.core.record.patients import (PATIENT_KEY, PatientBook, as_dating,
                                            pregnancy_record, scan_patient, serial_for)
from fetalview.core.record.result import NO_EXAM_DATE, build_result
from fetalview.core.record.review import sign_off
from fetalview.core.record.serial import FINDING_START, NO_PATIENT
from fetalview.core.record.sidecar import Annotation

EDD = date(2026, 10, 8)  # LMP 2026-01-01
PS = PixelSize(0.1, "test")


def head_at(percentile_z: float, ga: GestationalAge, signed: bool = True) -> Annotation:
    """A head (cephalic index 80) whose HC lies at z ``percentile_z`` for ``ga``, confirmed
    by a clinician when ``signed``."""
    mean, sd = intergrowth_hc_mean_sd(ga)
    unit = measure(Ellipse(300.0, 300.0, 100.0, 80.0, 0.0), PS).hc
    k = (mean + percentile_z * sd) / unit
    e = Ellipse(300.0, 300.0, 100.0 * k, 80.0 * k, 0.0)
    a = Annotation("scan.dcm", ellipse=e, auto_ellipse=e, model_version="m", confidence=0.99,
                   pixel_size=PS)
    if signed:
        a = Annotation(**{**a.__dict__, "confirmed": sign_off("Dr A", e, e, PS, "m")})
    return a


def exam_on(weeks: int) -> date:
    return EDD - timedelta(days=280) + timedelta(weeks=weeks)


def test_the_dating_given_once_dates_every_scan_by_its_own_date():
    dating = {"method": "edd", "edd": EDD.isoformat()}
    for exam, ga in (("2026-03-26", "12w+0d"), ("2026-05-22", "20w+1d"), ("2026-08-20", "33w+0d")):
        assert str(ga_from_record(pregnancy_record(dating, {}, exam))) == ga
    lmp = {"method": "lmp", "lmp": "2026-01-01"}
    scan = {"method": "dating scan", "scan_date": "2026-03-26", "scan_ga": "12+0"}
    for exam in ("2026-04-10", "2026-06-01", "2026-09-30"):
        assert ga_from_record(pregnancy_record(lmp, {}, exam)) == ga_from_record(
            pregnancy_record(dating, {}, exam)) == ga_from_record(pregnancy_record(scan, {}, exam))


def test_a_scan_dated_on_its_own_keeps_its_dating_while_its_patient_has_none():
    own = {"method": "lmp", "lmp": "2026-01-01", "exam_date": "2026-05-21"}
    assert pregnancy_record(None, {"pregnancy": own}, "2026-06-01") == own
    assert as_dating({"method": "weeks+days", "ga": "20+0"}, "2026-05-21") == {
        "method": "dating scan", "scan_date": "2026-05-21", "scan_ga": "20+0"}


def test_a_dated_pregnancy_without_the_scans_date_says_so():
    a = head_at(0.0, GestationalAge(140))
    r = build_result("x.png", a, None, pregnancy=pregnancy_record(
        {"method": "edd", "edd": EDD.isoformat()}, {}, None))
    assert r.ga is None and r.growth[0] == NO_EXAM_DATE


def test_the_book_keeps_each_patients_dating_and_what_it_replaced(tmp_path):
    book = PatientBook(tmp_path / "patients.json")
    assert book.dating("P1") is None
    book.set_dating("P1", {"method": "edd", "edd": "2026-10-08"})
    book.set_dating("P2", {"method": "lmp", "lmp": "2026-02-01"})
    book.set_dating("P1", {"method": "edd", "edd": "2026-10-09"})
    assert PatientBook(tmp_path / "patients.json").dating("P1") == {"method": "edd",
                                                                    "edd": "2026-10-09"}
    data = json.loads((tmp_path / "patients.json").read_text())
    assert data["patients"]["P1"]["previous"][0]["edd"] == "2026-10-08"
    assert data["patients"]["P2"]["dating"]["lmp"] == "2026-02-01"


def test_an_unreadable_book_is_kept_aside_never_written_over(tmp_path):
    path = tmp_path / "patients.json"
    path.write_text("{half a file")
    note = PatientBook(path).set_dating("P1", {"method": "lmp", "lmp": "2026-02-01"})
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("patients.unreadable")]
    assert aside and aside[0].read_text() == "{half a file" and aside[0].name in note
    assert PatientBook(path).dating("P1")["lmp"] == "2026-02-01"


def serial_scans(z_last: float = -1.645):
    """Three scans of P7 at 24, 30 and 34 weeks: the 60th, 40th, then ``z_last``; listed out
    of date order, with a scan of another patient."""
    fields = [({"patient_id": "P7", "exam_date": exam_on(w).isoformat()}, w, z)
              for w, z in ((34, z_last), (24, 0.2533), (30, -0.2533))]
    scans = [(f"s{w}.dcm", head_at(z, GestationalAge(w * 7)), f) for f, w, z in fields]
    scans.append(("other.dcm", head_at(0, GestationalAge(200)),
                  {"patient_id": "P8", "exam_date": exam_on(29).isoformat()}))
    return scans


def test_three_scans_of_a_patient_are_three_points_in_date_order_with_the_fall_found():
    dating = {"method": "edd", "edd": EDD.isoformat()}
    serial = serial_for("P7", serial_scans(), dating)
    assert [p.ga_days for p in serial.hc] == [168, 210, 238]
    assert [p.exam_date for p in serial.hc] == [exam_on(24), exam_on(30), exam_on(34)]
    assert [p.latest for p in serial.hc] == [False, False, True]
    assert all(p.confirmed for p in serial.hc) and len(serial.bpd) == len(serial.ofd) == 3
    assert round(hc_centile(serial.hc[0].value_mm, GestationalAge(168)).percentile) == 60
    assert serial.finding.startswith(FINDING_START)
    assert "from the 60th centile" in serial.finding and "to the 5th" in serial.finding
    assert "across the 50th and 10th centile lines" in serial.finding
    assert "diagnosis" in serial.finding  # "not a diagnosis"
    record = build_result("s34.dcm", serial_scans()[0][1], None, serial=serial)
    assert serial.finding in record.growth and record.serial_finding == serial.finding


def test_a_scans_serial_ends_with_it_so_a_later_scan_changes_no_earlier_report():
    dating = {"method": "edd", "edd": EDD.isoformat()}
    serial = serial_for("P7", serial_scans(), dating, until=exam_on(30))
    assert [p.ga_days for p in serial.hc] == [168, 210] and serial.hc[-1].latest
    assert serial.finding is None  # the fall came at 34 weeks, after this scan


def test_a_head_keeping_to_its_centile_is_no_finding_and_below_the_3rd_is():
    dating = {"method": "edd", "edd": EDD.isoformat()}
    assert serial_for("P7", serial_scans(z_last=0.0), dating).finding is None
    low = serial_for("P7", serial_scans(z_last=-2.2), dating).finding
    assert "below the 3rd centile" in low


def test_an_unconfirmed_scan_is_marked_and_a_flagged_one_left_off_with_why():
    dating = {"method": "edd", "edd": EDD.isoformat()}
    scans = serial_scans()
    name, a, f = scans[0]
    scans[0] = (name, Annotation(**{**a.__dict__, "confirmed": None}), f)
    flagged = Annotation(**{**head_at(0, GestationalAge(196), signed=False).__dict__,
                            "confidence": 0.5})
    scans.append(("flagged.dcm", flagged, {"patient_id": "P7",
                                           "exam_date": exam_on(28).isoformat()}))
    serial = serial_for("P7", scans, dating)
    assert [p.confirmed for p in serial.hc] == [True, True, False]
    assert "Not every measurement in it is confirmed yet" in serial.finding
    assert "flagged.dcm (awaits review)" in serial.note


def test_a_png_without_a_patient_has_no_serial_and_says_why():
    a = head_at(0, GestationalAge(140))
    assert scan_patient({}, a.extra) == (None, None)
    serial = serial_for(None, [("scan.png", a, {})], None)
    assert serial.hc == () and serial.note == NO_PATIENT and serial.lines == [NO_PATIENT]
    assigned = {PATIENT_KEY: {"patient_id": "P7", "exam_date": "2026-05-21"}}
    assert scan_patient({}, assigned) == ("P7", "2026-05-21")
    assert scan_patient({"patient_id": "D1", "exam_date": "2026-05-01"}, assigned) == (
        "D1", "2026-05-01")  # the file's own fields win
