"""The SR and the annotated Secondary Capture of a measured scan: codes, values, identity,
review state, and dciodvfy's verdict on every file written."""

import dataclasses
import datetime as dt

import cv2
import numpy as np
import pydicom
import pytest

from dicomcheck import codes_of, dciodvfy_errors, num, sr_items
from dicomfiles import make_dicom, region
from fetalview.core.io.scans import load_scan
from fetalview.core.measure.geometry import Ellipse
from fetalview.core.measure.growth import PREGNANCY_KEY, GestationalAge, hadlock_ga, hc_centile
from fetalview.core.measure.pixelsize import PixelSize
from fetalview.core.record.patients import pregnancy_record
from fetalview.core.record.result import build_result
from fetalview.core.record.review import sign_off
from fetalview.core.record.sidecar import Annotation
from fetalview.core.results.dicom_results import make_results
from fetalview.core.results.dicom_sr import Review

ELLIPSE = Ellipse(200.0, 150.0, 120.0, 90.0, 20.0)
CONFIRMED = Review("confirmed", "Smith^Anna", dt.datetime(2026, 3, 15, 10, 30), "Clinic X")


def _image():
    img = np.full((300, 400), 30, np.uint8)
    cv2.ellipse(img, (200, 150), (120, 90), 20, 0, 360, 220, 3)
    return img


@pytest.fixture
def dicom_scan(tmp_path):
    # 0.05 cm = 0.5 mm per pixel: HC ~ 331.6 mm, inside Hadlock's range
    return load_scan(make_dicom(tmp_path / "src.dcm", _image(),
                                regions=[region(0, 0, 399, 299, 0.05)]))


@pytest.fixture
def png_scan(tmp_path):
    path = tmp_path / "scan.png"
    cv2.imwrite(str(path), _image())
    return load_scan(path)


def _record(scan, review=CONFIRMED, pixel_size=None, ga=None, flagged=False):
    """The result record of ELLIPSE on ``scan`` as the app keeps it after ``review``: edited
    and signed off as the review says (the record is what the SR renders)."""
    ps = pixel_size or scan.pixel_size or PixelSize(0.5, "typed by user")
    state = review.state.value
    model = ELLIPSE if state in ("automatic", "confirmed") else Ellipse(200.0, 150.0, 100.0,
                                                                       80.0, 0.0)
    signoff = (sign_off(review.operator, ELLIPSE, model, ps, "resunet-test",
                        review.when.astimezone() if review.when else None)
               if review.state.confirmed else None)
    extra = {PREGNANCY_KEY: {"method": "weeks+days", "ga": ga}} if ga else {}
    a = Annotation(scan.path.name, ellipse=ELLIPSE, auto_ellipse=model,
                   edited=state in ("edited", "corrected"), model_version="resunet-test",
                   confidence=0.5 if flagged else 0.99, pixel_size=ps, confirmed=signoff,
                   frame=scan.metadata.get("frame", 0), extra=extra)
    return build_result(scan.path.name, a, scan.pixels,
                        frame_count=scan.metadata.get("frames", 1))


def _results(scan, review=CONFIRMED, pixel_size=None, patient=None, ga=None, flagged=False):
    result = _record(scan, review, pixel_size, ga, flagged)
    return result.ellipse_measurement, make_results(scan, result, patient=patient,
                                                    organization=review.organization)


def _comment(sr) -> str:
    return next(i.TextValue for _, i in sr_items(sr) if i.ValueType == "TEXT"
                and i.ConceptNameCodeSequence[0].CodeValue == "121106")


def _roundtrip(results, tmp_path, stem="out"):
    paths = results.write(tmp_path, stem)
    assert [p.name for p in paths] == [f"{stem}_SR.dcm", f"{stem}_SC.dcm"]
    return [pydicom.dcmread(p) for p in paths], paths


def test_sr_holds_head_biometry_with_loinc_codes_in_mm(dicom_scan, tmp_path):
    m, results = _results(dicom_scan, ga="34+0")
    (sr, _), paths = _roundtrip(results, tmp_path)
    assert sr.ConceptNameCodeSequence[0].CodeValue == "125000"  # OB-GYN US Procedure Report
    assert sr.ContentTemplateSequence[0].TemplateIdentifier == "5000"
    assert num(sr, "11984-2", under="125005") == (pytest.approx(m.hc, abs=0.005), "mm")
    assert num(sr, "11820-8") == (pytest.approx(m.bpd, abs=0.005), "mm")
    assert num(sr, "11851-3") == (pytest.approx(m.ofd, abs=0.005), "mm")
    assert m.bpd == pytest.approx(180 * 0.5) and m.ofd == pytest.approx(240 * 0.5)
    # GA from HC by Hadlock 1984 (CID 12013 code), in days, and the INTERGROWTH-21st rank
    assert num(sr, "18185-9", under="125005") == (hadlock_ga(m.hc).days, "d")
    equations = [i.ConceptCodeSequence[0].CodeValue for _, i in sr_items(sr)
                 if i.ValueType == "CODE" and i.ConceptNameCodeSequence[0].CodeValue == "121420"]
    assert equations == ["11932-1"]
    centile = hc_centile(m.hc, GestationalAge(34 * 7))
    assert num(sr, "125012")[0] == pytest.approx(centile.percentile, abs=0.01)
    assert num(sr, "125013") == (pytest.approx(centile.z, abs=0.01), "1")


def test_no_percentile_without_a_known_age_and_no_ga_outside_hadlock(dicom_scan):
    _, results = _results(dicom_scan)
    assert "125012" not in codes_of(results.sr, "NUM")
    assert "18185-9" in codes_of(results.sr, "NUM")
    _, tiny = _results(dicom_scan, pixel_size=PixelSize(0.05, "typed by user"))  # HC ~ 33 mm
    assert "18185-9" not in codes_of(tiny.sr, "NUM")
    assert "11984-2" in codes_of(tiny.sr, "NUM")


def test_results_join_the_scans_study_in_new_series(dicom_scan, tmp_path):
    source = pydicom.dcmread(dicom_scan.path)
    _, results = _results(dicom_scan)
    (sr, sc), _ = _roundtrip(results, tmp_path)
    for ds in (sr, sc):
        assert ds.StudyInstanceUID == source.StudyInstanceUID
        assert ds.PatientID == "PID-0042" and str(ds.PatientName) == "Doe^Jane"
        assert ds.SeriesInstanceUID != source.SeriesInstanceUID
    assert sr.SeriesInstanceUID != sc.SeriesInstanceUID
    assert sc.SOPClassUID == pydicom.uid.SecondaryCaptureImageStorage
    # every region the SR measured on is selected from the source image itself
    refs = {i.ReferencedSOPSequence[0].ReferencedSOPInstanceUID for _, i in sr_items(sr)
            if i.ValueType == "IMAGE"}
    assert refs == {source.SOPInstanceUID}
    hc_region = next(i for path, i in sr_items(sr) if i.ValueType == "SCOORD"
                     and path[-1] == "11984-2")
    assert hc_region.GraphicType == "ELLIPSE"
    # major axis first, in DICOM's pixel-corner coordinates (+0.5)
    ends = np.asarray(hc_region.GraphicData, float).reshape(4, 2)
    assert np.linalg.norm(ends[0] - ends[1]) == pytest.approx(240, abs=1e-3)
    assert ends[:2].mean(axis=0) == pytest.approx([200.5, 150.5], abs=1e-3)


def test_cine_loop_frame_is_referenced(tmp_path):
    frames = np.stack([_image()] * 3)
    scan = load_scan(make_dicom(tmp_path / "loop.dcm", frames,
                                regions=[region(0, 0, 399, 299, 0.05)]), frame=2)
    _, results = _results(scan)
    frames_ref = {int(i.ReferencedSOPSequence[0].ReferencedFrameNumber)
                  for _, i in sr_items(results.sr) if i.ValueType == "IMAGE"}
    assert frames_ref == {3}  # 1-based: frame 2 counted from 0


def test_png_scan_gets_a_new_study_with_the_typed_patient(png_scan, tmp_path):
    patient = {"patient_name": "Roe^Mary", "patient_id": "MR-7", "exam_date": "2026-04-02"}
    _, results = _results(png_scan, patient=patient)
    (sr, sc), _ = _roundtrip(results, tmp_path)
    assert sr.StudyInstanceUID == sc.StudyInstanceUID
    assert (str(sc.PatientName), sc.PatientID, sc.StudyDate) == ("Roe^Mary", "MR-7", "20260402")
    assert sr.PatientID == "MR-7"
    refs = {i.ReferencedSOPSequence[0].ReferencedSOPInstanceUID for _, i in sr_items(sr)
            if i.ValueType == "IMAGE"}
    assert refs == {sc.SOPInstanceUID}  # the measured image in PACS is the capture
    # never merged into another scan's or patient's study; the same scan's again joins it
    _, again = _results(png_scan, patient=patient)
    assert again.sr.StudyInstanceUID == sr.StudyInstanceUID
    _, other = _results(png_scan, patient={**patient, "patient_id": "MR-8"})
    assert other.sr.StudyInstanceUID != sr.StudyInstanceUID
    darker = load_scan(_written(png_scan.path.parent / "other.png", _image() // 2))
    _, other = _results(darker, patient=patient)
    assert other.sr.StudyInstanceUID != sr.StudyInstanceUID


def _written(path, pixels):
    cv2.imwrite(str(path), pixels)
    return path


@pytest.mark.parametrize("kind", ["dicom", "png"])
def test_an_unchanged_result_gets_the_same_uids_and_a_changed_one_new_ones(
        kind, dicom_scan, png_scan):
    """Issue 23 item 12: every re-send added another SR and SC series. Now the UIDs come
    from the source and the result: the same result is the same instances again."""
    scan = dicom_scan if kind == "dicom" else png_scan
    patient = {"patient_name": "Roe^Mary", "patient_id": "MR-7"}

    def uids(review=CONFIRMED):
        result = _record(scan, review)
        result = dataclasses.replace(result, when=dt.datetime.now())  # built again, later
        r = make_results(scan, result, patient=patient, organization="Clinic X")
        return [(ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID)
                for ds in (r.sr, r.sc)]
    first = uids()
    assert uids() == first
    changed = uids(Review("confirmed", "Jones^Ben", dt.datetime(2026, 3, 16, 9, 0), "Clinic X"))
    assert changed[0][0] == first[0][0]  # the same study
    assert changed[0][1:] != first[0][1:] and changed[1][1:] != first[1][1:]
    for (_, series, sop), (_, series2, sop2) in zip(first, changed):
        assert len({series, sop, series2, sop2}) == 4


def test_confirmed_result_is_verified_by_its_person_observer(dicom_scan):
    _, results = _results(dicom_scan)
    sr = results.sr
    assert (sr.VerificationFlag, sr.PreliminaryFlag, sr.CompletionFlag) == \
        ("VERIFIED", "FINAL", "COMPLETE")
    verifier = sr.VerifyingObserverSequence[0]
    assert str(verifier.VerifyingObserverName) == "Smith^Anna"
    assert verifier.VerificationDateTime == "20260315103000"
    assert verifier.VerifyingOrganization == "Clinic X"
    observers = {i.ConceptNameCodeSequence[0].CodeValue: i for _, i in sr_items(sr)
                 if i.RelationshipType == "HAS OBS CONTEXT"}
    assert str(observers["121008"].PersonName) == "Smith^Anna"
    assert observers["121015"].TextValue == "resunet-test"  # device observer: the model
    comment = _comment(sr)
    assert "confirmed by Smith^Anna" in comment


@pytest.mark.parametrize("state", ["automatic", "edited"])
def test_unconfirmed_result_is_unverified_and_says_so(dicom_scan, state):
    _, results = _results(dicom_scan, Review(state), flagged=True)
    sr = results.sr
    assert (sr.VerificationFlag, sr.PreliminaryFlag) == ("UNVERIFIED", "PRELIMINARY")
    assert "VerifyingObserverSequence" not in sr
    assert "121008" not in codes_of(sr, "PNAME")  # no person observer
    comment = _comment(sr)
    assert "not confirmed" in comment or "not reviewed" in comment
    assert ("Review flag: model confidence 0.50 (below 0.95)" in comment) == (state == "automatic")


def test_corrected_result_says_corrected(dicom_scan):
    _, results = _results(dicom_scan, Review("corrected", "Lee^Kim"))
    comment = _comment(results.sr)
    assert comment.startswith("Contour corrected and confirmed by Lee^Kim")
    assert results.sr.VerificationFlag == "VERIFIED"


def test_refusals(dicom_scan):
    with pytest.raises(ValueError, match="name"):
        Review("confirmed", "  ")
    with pytest.raises(ValueError, match="pixel size"):
        make_results(dicom_scan, build_result("x", Annotation("x", ellipse=ELLIPSE), None))


def test_annotated_image_keeps_the_scan_whole_with_the_caption_below(dicom_scan):
    _, results = _results(dicom_scan)
    sc = results.sc.pixel_array
    assert sc.shape[0] > 300 and sc.shape[1] >= 400 and sc.shape[2] == 3
    scan = dicom_scan.pixels
    # far from the contour the scan's own pixels are untouched: no caption over the image
    assert (sc[:40, :40] == scan[:40, :40, None]).all()
    assert (sc[-40:, -40:] != 0).any() or (sc[300:, :200] != 0).any()  # the caption band
    # the contour is drawn in green where the ellipse runs
    x, y = np.round(ELLIPSE.points(8)[0]).astype(int)
    patch = sc[y - 2:y + 3, x - 2:x + 3].reshape(-1, 3)
    assert (patch[:, 1] > patch[:, 0] + 60).any()


@pytest.fixture
def latin1_scan(tmp_path):
    """A scanner's file in Latin-1 (ISO_IR 100) with a name that is not ASCII."""
    path = make_dicom(tmp_path / "latin1.dcm", _image(), regions=[region(0, 0, 399, 299, 0.05)])
    ds = pydicom.dcmread(path)
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.PatientName = "Müller^Anna"
    ds.save_as(path)
    return load_scan(path)


def test_every_file_written_passes_dciodvfy(dicom_scan, png_scan, latin1_scan, tmp_path):
    written = []
    accents = Review("corrected", "Jörg^Núñez", organization="Clínica")
    for name, scan, review, kw in (
            ("dcm_confirmed", dicom_scan, CONFIRMED, {"ga": "34+2"}),
            ("dcm_auto", dicom_scan, Review(), {"flagged": True}),
            ("png_confirmed", png_scan, CONFIRMED, {"patient": {"patient_id": "P1"}}),
            ("png_auto", png_scan, Review(), {}),
            ("latin1", latin1_scan, accents, {}),
            ("png_accents", png_scan, accents, {"patient": {"patient_name": "Ñandú^José"}})):
        _, results = _results(scan, review, **kw)
        written += results.write(tmp_path, name)
    assert {p.name: dciodvfy_errors(p) for p in written} == {p.name: [] for p in written}


def test_a_utc_confirmation_time_is_written_in_local_time(dicom_scan):
    utc = dt.datetime(2026, 3, 15, 10, 30, tzinfo=dt.timezone.utc)
    _, results = _results(dicom_scan, Review("confirmed", "Smith^Anna", utc))
    local = utc.astimezone().strftime("%Y%m%d%H%M%S")  # DICOM date-times carry no zone here
    assert results.sr.VerifyingObserverSequence[0].VerificationDateTime == local


def test_names_that_are_not_ascii_survive_as_utf8(latin1_scan, tmp_path):
    _, results = _results(latin1_scan, Review("confirmed", "Jörg^Núñez"))
    (sr, sc), _ = _roundtrip(results, tmp_path)
    for ds in (sr, sc):
        assert ds.SpecificCharacterSet == "ISO_IR 192" and str(ds.PatientName) == "Müller^Anna"
    assert str(sr.VerifyingObserverSequence[0].VerifyingObserverName) == "Jörg^Núñez"


def test_a_dated_pregnancy_is_in_the_srs_summary_and_passes_dciodvfy(dicom_scan, tmp_path):
    """Issue 19 item 2: the patient's dating (here by EDD) goes where TID 5000 has a place for
    it, the procedure summary (TID 5002): EDD and the GA at this scan; an LMP too, when given."""
    a = Annotation(dicom_scan.path.name, ellipse=ELLIPSE, auto_ellipse=ELLIPSE, frame=0,
                   model_version="resunet-test", confidence=0.99,
                   pixel_size=dicom_scan.pixel_size)
    written = []
    for name, dating in (("edd", {"method": "edd", "edd": "2026-10-08"}),
                         ("lmp", {"method": "lmp", "lmp": "2026-01-01"})):
        pregnancy = pregnancy_record(dating, {}, "2026-09-03")  # 35w+0d by either
        result = build_result("src.dcm", a, dicom_scan.pixels, pregnancy=pregnancy)
        assert result.ga == GestationalAge(245) and result.edd == dt.date(2026, 10, 8)
        results = make_results(dicom_scan, result, organization="Clinic X")
        sr = results.sr
        dates = {i.ConceptNameCodeSequence[0].CodeValue: str(i.Date) for path, i in sr_items(sr)
                 if i.ValueType == "DATE" and "121111" in path}
        assert dates == ({"11778-8": "20261008"} if name == "edd"
                         else {"11778-8": "20261008", "8665-2": "20260101"})
        assert num(sr, "18185-9", under="121111") == (245, "d")
        summary = [i for _, i in sr_items(sr) if i.ValueType == "CONTAINER"]
        assert [i.ConceptNameCodeSequence[0].CodeValue for i in summary][:3] == [
            "121111", "125002", "125005"]  # the summary before the biometry (TID 5000 order)
        written += results.write(tmp_path, name)
    assert {p.name: dciodvfy_errors(p) for p in written} == {p.name: [] for p in written}
    undated = make_results(dicom_scan, build_result("src.dcm", a, dicom_scan.pixels))
    assert "121111" not in codes_of(undated.sr, "CONTAINER")
