"""Hostile and invalid values on their way into the SR and SC (issues 20 and 23): what cannot be
written as valid DICOM without changing its meaning stops that scan's DICOM output with a reason
in words; an optional value that is not valid is left out and said; missing or invalid source
UIDs give a new study; character sets are decoded as declared, or refused. dciodvfy checks
every file written."""

import datetime as dt
import logging
import re
import shutil
import subprocess

import cv2
import numpy as np
import pydicom
import pytest

from dicomcheck import dciodvfy_errors, sr_items
from dicomfiles import edited_dicom, make_dicom, region
from fetalview.core.batch import NOT_WRITTEN, Outputs, PixelSizeBook, measure_one
from fetalview.core.io import dicom
from fetalview.core.io.scans import load_scan
from fetalview.core.measure.geometry import Ellipse
from fetalview.core.model.segmentation import Segmentation
from fetalview.core.results import dicom_values
from fetalview.core.results.dicom_sr import Review
from fetalview.core.results.dicom_values import DicomValueError
from test_dicom_results import _image, _results

REGIONS = [region(0, 0, 399, 299, 0.05)]
UID = re.compile(r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*")


def _scan(tmp_path, name="src.dcm", **kw):
    return load_scan(edited_dicom(tmp_path / name, _image(), REGIONS, **kw))


def _written(results, tmp_path, stem="out"):
    paths = results.write(tmp_path, stem)
    assert {p.name: dciodvfy_errors(p) for p in paths} == {p.name: [] for p in paths}
    return [pydicom.dcmread(p) for p in paths]


def _image_refs(sr):
    return {i.ReferencedSOPSequence[0].ReferencedSOPInstanceUID for _, i in sr_items(sr)
            if i.ValueType == "IMAGE"}


def test_a_source_without_uids_gets_a_new_study_keeping_the_patient_as_dicom_has_it(
        tmp_path, caplog):
    scan = _scan(tmp_path, remove=("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"),
                 PatientBirthDate="19900101", PatientSex="F", AccessionNumber="ACC1")
    with caplog.at_level(logging.WARNING):
        _, results = _results(scan)
    sr, sc = _written(results, tmp_path)
    for ds in (sr, sc):
        assert (str(ds.PatientName), ds.PatientID, ds.PatientBirthDate, ds.PatientSex,
                ds.AccessionNumber) == ("Doe^Jane", "PID-0042", "19900101", "F", "ACC1")
        assert UID.fullmatch(ds.StudyInstanceUID) and ds.StudyInstanceUID == sc.StudyInstanceUID
    assert _image_refs(sr) == {sc.SOPInstanceUID}  # what exists: the capture, not the scan
    assert "Study Instance UID is missing" in results.notes[0]
    assert "new study" in caplog.text


@pytest.mark.parametrize("keyword, value", [
    ("StudyInstanceUID", "1.2.3.abc/../../etc"), ("SeriesInstanceUID", "1.2.3a"),
    ("SOPInstanceUID", "1." + "2" * 70), ("StudyInstanceUID", "1.02.3")])
def test_malformed_source_uids_are_never_copied(tmp_path, keyword, value):
    scan = _scan(tmp_path, **{keyword: value})
    _, results = _results(scan)
    sr, sc = _written(results, tmp_path)
    uids = [sr.StudyInstanceUID, sr.SeriesInstanceUID, sr.SOPInstanceUID, sc.SOPInstanceUID,
            *_image_refs(sr)]
    assert value not in uids and all(UID.fullmatch(u) for u in uids)
    assert _image_refs(sr) == {sc.SOPInstanceUID}
    assert "not a valid DICOM UID" in results.notes[0]


def test_a_japanese_iso_2022_ir_87_name_is_decoded_and_written_as_utf8(tmp_path):
    name = "Yamada^Tarou=山田^太郎=やまだ^たろう"
    scan = _scan(tmp_path, SpecificCharacterSet=["", "ISO 2022 IR 87"], PatientName=name)
    assert b"\x1b$B" in scan.path.read_bytes()  # the escape sequence of JIS X 0208
    _, results = _results(scan)
    for ds in _written(results, tmp_path):
        assert ds.SpecificCharacterSet == "ISO_IR 192" and str(ds.PatientName) == name


def test_an_unknown_character_set_stops_the_dicom_output(tmp_path):
    scan = _scan(tmp_path, SpecificCharacterSet="ISO_IR 999")
    with pytest.raises(dicom.DicomError, match="'ISO_IR 999' is not a character set DICOM"):
        _results(scan)


def test_latin1_bytes_in_a_utf8_file_stop_the_dicom_output(tmp_path):
    scan = _scan(tmp_path, SpecificCharacterSet="ISO_IR 100", PatientName="Müller^Anna",
                 raw={b"ISO_IR 100": b"ISO_IR 192"})
    with pytest.raises(DicomValueError, match="patient's name .* could not be decoded"):
        _results(scan)


@pytest.mark.parametrize("values, words", [
    ({"PatientName": "Doe\\Jane"}, "patient's name 'Doe\\\\Jane' holds a backslash"),
    ({"PatientID": "P\x1b[31m1"}, r"patient ID 'P\\x1b\[31m1' holds control characters"),
    ({"AccessionNumber": "A\x00B"}, "accession number .* control characters"),
    ({"PatientName": "Doe\nJane"}, "patient's name .* control characters"),
    ({"PatientName": "X" * 10_000}, r"\(10000 characters\)' is longer than the 64"),
    ({"PatientID": "1" * 100}, "patient ID .* longer than the 64 characters"),
])
def test_hostile_identifying_values_stop_the_output_with_a_reason(tmp_path, values, words):
    scan = _scan(tmp_path, **values)
    with pytest.raises(DicomValueError, match=words) as caught:
        _results(scan)
    assert str(caught.value).startswith("no DICOM output: ")
    assert "\x1b" not in str(caught.value) and "\x00" not in str(caught.value)


def test_invalid_optional_values_are_left_out_and_said(tmp_path, caplog):
    scan = _scan(tmp_path, PatientBirthDate="notadate", PatientSex="X", StudyTime="noon")
    with caplog.at_level(logging.WARNING):
        _, results = _results(scan)
    sr, sc = _written(results, tmp_path)
    for ds in (sr, sc):
        assert (ds.PatientBirthDate, ds.PatientSex, ds.StudyTime) == ("", "", "")
        assert ds.StudyInstanceUID == pydicom.dcmread(scan.path).StudyInstanceUID
    assert len(results.notes) == 3
    assert "the birth date 'notadate' is not a date" in caplog.text


@pytest.mark.parametrize("review, words", [
    (Review("confirmed", "Dr^Who\\X", dt.datetime(2026, 3, 15)),
     r"confirmed it 'Dr\^Who.* backslash"),
    (Review("confirmed", "Smith", organization="Clinic\\X"), "clinic's name .* backslash"),
    (Review("automatic", organization="Clinic\x1b[2J"), "clinic's name .* control"),
])
def test_sign_off_name_and_clinic_must_be_one_valid_value(tmp_path, review, words):
    scan = load_scan(make_dicom(tmp_path / "a.dcm", _image(), regions=REGIONS))
    with pytest.raises(DicomValueError, match=words):
        _results(scan, review)


@pytest.mark.parametrize("patient_id", ["P\\1", "1" * 100])
def test_a_typed_patient_id_that_dicom_cannot_hold_is_refused(tmp_path, patient_id):
    path = tmp_path / "scan.png"
    cv2.imwrite(str(path), _image())
    with pytest.raises(DicomValueError, match="patient ID"):
        _results(load_scan(path), patient={"patient_id": patient_id})


def test_a_single_frame_image_class_with_frames_is_referenced_without_a_frame(tmp_path):
    scan = load_scan(edited_dicom(tmp_path / "two.dcm", _image(), REGIONS, NumberOfFrames=2))
    assert scan.metadata.get("frames") == 2
    _, results = _results(scan)
    sr, _ = _written(results, tmp_path)
    refs = [i.ReferencedSOPSequence[0] for _, i in sr_items(sr) if i.ValueType == "IMAGE"]
    assert refs and all("ReferencedFrameNumber" not in r for r in refs)
    assert "frame 1" in results.notes[0]


def test_the_capture_has_no_empty_laterality(tmp_path):
    scan = load_scan(make_dicom(tmp_path / "a.dcm", _image(), regions=REGIONS))
    _, sc = _written(_results(scan)[1], tmp_path)
    assert "Laterality" not in sc
    run = subprocess.run(["dciodvfy", str(tmp_path / "out_SC.dcm")], capture_output=True,
                         text=True)
    assert "Laterality" not in run.stdout + run.stderr


def test_biometry_groups_are_separate_so_dsr2html_names_each_figure(tmp_path):
    if shutil.which("dsr2html") is None:
        pytest.skip("dsr2html is not installed (Debian package 'dcmtk')")
    scan = load_scan(make_dicom(tmp_path / "a.dcm", _image(), regions=REGIONS))
    sr, _ = _written(_results(scan)[1], tmp_path)
    groups = [i for _, i in sr_items(sr) if i.ValueType == "CONTAINER"
              and i.ConceptNameCodeSequence[0].CodeValue == "125005"]
    assert len(groups) == 3 and {g.ContinuityOfContent for g in groups} == {"SEPARATE"}
    html = subprocess.run(["dsr2html", str(tmp_path / "out_SR.dcm")], capture_output=True,
                          text=True, timeout=60).stdout
    for name in ("Head Circumference", "Biparietal Diameter", "Occipital-Frontal Diameter"):
        assert re.search(name + r":</b><br>\s*<span[^>]*>[\d.]+ mm", html), name


class _Head:
    """Stands in for the network: the test ellipse on any scan."""

    model_version = "fake"

    def segment(self, pixels, pixel_size=None, regions=()):
        return Segmentation(np.zeros(pixels.shape, np.uint8), None,
                            Ellipse(200.0, 150.0, 120.0, 90.0, 20.0), 0.99, "fake", 0.5,
                            pixel_size)


def test_a_backslash_in_the_patient_name_keeps_the_measurement_in_the_csv(tmp_path):
    path = edited_dicom(tmp_path / "scan.dcm", _image(), REGIONS, PatientName="Doe\\Jane")
    (tmp_path / "out").mkdir()
    row = measure_one(_Head(), path, PixelSizeBook(), Outputs(dicom=tmp_path / "out"))
    assert float(row["hc_mm"]) > 0
    assert row["status"].startswith(NOT_WRITTEN)
    assert "no DICOM output: the patient's name 'Doe\\Jane' holds a backslash" in row["status"]
    assert list((tmp_path / "out").iterdir()) == []


def test_the_rules_of_each_vr():
    assert dicom_values.uid("1.2.840.10008.1.2", "x") == "1.2.840.10008.1.2"
    assert dicom_values.person_name("Ñandú^José  ", "x") == "Ñandú^José"
    assert dicom_values.text("SH", "A" * 16, "x") == "A" * 16
    for check, value in ((dicom_values.uid, "1..2"), (dicom_values.uid, ""),
                         (dicom_values.date, "20260230"), (dicom_values.time, "2500"),
                         (dicom_values.code, "f"), (dicom_values.person_name, "a=b=c=d"),
                         (dicom_values.person_name, "a^b^c^d^e^f"),
                         (lambda v, w: dicom_values.text("SH", v, w), "A" * 17)):
        with pytest.raises(DicomValueError):
            check(value, "x")
    with pytest.raises(DicomValueError):
        dicom_values.code("X", "x", ("M", "F", "O"))


@pytest.mark.parametrize("option", [["--patient-id", "P\\1"], ["--patient-id", "1" * 100],
                                    ["--patient-id", "P1", "--patient-name", "Doe\x1bJane"]])
def test_the_command_line_refuses_a_patient_dicom_cannot_hold(tmp_path, capsys, option):
    from fetalview.cli import main
    with pytest.raises(SystemExit) as stopped:
        main(["measure", str(tmp_path), "--dicom-out", str(tmp_path / "out"), *option])
    assert stopped.value.code == 2
    assert "no DICOM output: --patient" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
