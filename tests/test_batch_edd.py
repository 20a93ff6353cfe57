"""``fetalview measure --edd``: one patient's scans dated once (issue 19 item 2).

Each DICOM scan's GA follows from its own Study Date and reaches its outputs (here the SR's
procedure summary); a PNG, which states no date, is said so in its row; scans of two patients
are refused before any work, since one pregnancy's dates cannot date both.
"""

import csv
import shutil

import cv2
import pydicom
import pytest

from dicomcheck import num
from dicomfiles import make_dicom
from fetalview.cli import main
from fetalview.core.batch import NO_EXAM_DATE_NOTE

EDD = "2026-10-08"  # LMP 2026-01-01


def _study(folder, name, sample, study_date, patient_id="PID-0042"):
    """A DICOM of a real HC18 scan (its pixel size as HC18 gives it) of ``patient_id`` on
    ``study_date``."""
    pixels = cv2.imread(str(sample), cv2.IMREAD_GRAYSCALE)
    path = make_dicom(folder / name, pixels, pixel_spacing=[0.104322607] * 2)
    ds = pydicom.dcmread(path)
    ds.StudyDate, ds.PatientID = study_date, patient_id
    ds.save_as(path)
    return path


def _rows(path):
    with open(path, newline="") as f:
        return {r["filename"]: r for r in csv.DictReader(f)}


def test_edd_dates_each_scan_by_its_own_date_and_says_when_it_cannot(tmp_path, samples_dir):
    folder = tmp_path / "patient"
    folder.mkdir()
    _study(folder, "early.dcm", samples_dir / "249_HC.png", "20260521")  # 20w+0d
    _study(folder, "later.dcm", samples_dir / "249_HC.png", "20260604")  # 22w+0d
    shutil.copy(samples_dir / "249_HC.png", folder / "still.png")
    out, dicom = tmp_path / "r.csv", tmp_path / "dicom"
    code = main(["measure", str(folder), "--edd", EDD, "--out", str(out), "--pixel-size",
                 "0.104322607", "--dicom-out", str(dicom), "--device", "cpu"])
    assert code == 0
    rows = _rows(out)
    assert rows["still.png"]["status"] == f"ok; {NO_EXAM_DATE_NOTE}"
    assert rows["early.dcm"]["status"] == rows["later.dcm"]["status"] == "ok"
    for stem, days in (("early", 140), ("later", 154)):
        sr = pydicom.dcmread(dicom / f"{stem}_SR.dcm")
        assert num(sr, "18185-9", under="121111") == (days, "d")  # to the day


def test_edd_refuses_scans_of_two_patients(tmp_path, samples_dir, capsys):
    folder = tmp_path / "mixed"
    folder.mkdir()
    _study(folder, "a.dcm", samples_dir / "050_HC.png", "20260521", "P-1")
    _study(folder, "b.dcm", samples_dir / "050_HC.png", "20260604", "P-2")
    out = tmp_path / "r.csv"
    assert main(["measure", str(folder), "--edd", EDD, "--out", str(out)]) == 2
    assert "2 patients (P-1, P-2)" in capsys.readouterr().err and not out.exists()


@pytest.mark.parametrize("typed", ["08/10/2026", "2026-02-30"])
def test_an_edd_that_is_not_a_date_is_refused_in_words(typed, capsys, tmp_path):
    with pytest.raises(SystemExit):
        main(["measure", str(tmp_path), "--edd", typed])
    assert "EDD" in capsys.readouterr().err


# --- the reports of a dated patient carry the serial (issue 19 item 2: "its --reports PDFs
# carry the chart"): each scan's report is its serial up to its own exam date ------------------

#: The same head (HC 167.5 mm) on three dates: the 61st, 42nd and 4th centile at 19w+3d,
#: 19w+5d and 20w+5d, a fall across the 50th and 10th lines. Named so that the folder's order
#: is not the dates' order.
SERIAL = (("c_first.dcm", "20260517"), ("a_second.dcm", "20260519"), ("b_third.dcm", "20260526"))
DAYS = ("2026-05-17", "2026-05-19", "2026-05-26")


def _patient_folder(tmp_path, samples_dir):
    folder = tmp_path / "patient"
    folder.mkdir()
    for name, study_date in SERIAL:
        _study(folder, name, samples_dir / "249_HC.png", study_date)
    return folder


def test_each_report_carries_the_patients_scans_up_to_its_own_date(tmp_path, samples_dir):
    from fetalview.core.record.serial import FINDING_START
    from test_report_growth import gs_text

    folder, reports, out = _patient_folder(tmp_path, samples_dir), tmp_path / "reports", \
        tmp_path / "r.csv"
    code = main(["measure", str(folder), "--edd", EDD, "--reports", str(reports), "--out",
                 str(out), "--device", "cpu"])
    assert code == 0
    assert {r["status"] for r in _rows(out).values()} == {"ok"}
    text = {stem: gs_text(reports / f"{stem}_fetalview_report.pdf")
            for stem in ("c_first", "a_second", "b_third")}
    third = text["b_third"]
    rows = [third.index(f"{day} ") for day in DAYS]  # the table: every scan, in date order
    assert rows == sorted(rows)
    assert FINDING_START + "HC fell from the 61st centile" in third
    assert third.count(FINDING_START) == 2  # on page 1's caption and beside the chart
    assert "not confirmed" in third  # a batch result is nobody's confirmed one
    assert DAYS[0] in text["a_second"] and DAYS[2] not in text["a_second"]
    first = text["c_first"]  # its own scan only: no table, no finding
    assert DAYS[1] not in first and DAYS[2] not in first and FINDING_START not in first


def test_a_report_not_written_after_the_rows_is_said_and_counted(tmp_path, samples_dir,
                                                                  capsys):
    """With --edd the reports follow the rows: a report that cannot be written is said on
    standard error and in ``reports_not_written`` (the CLI's exit code 1), its row unchanged."""
    from fetalview.cli import _report_writer
    from fetalview.core.batch import Outputs, PixelSizeBook, measure_batch, plan_batch
    from fetalview.core.model.segmenter import Segmenter

    folder, reports = _patient_folder(tmp_path, samples_dir), tmp_path / "reports"
    batch = plan_batch([folder], PixelSizeBook(), Outputs(
        reports=reports, write_report=_report_writer(False), dating={"method": "edd",
                                                                     "edd": EDD}))
    (reports / "a_second_fetalview_report.pdf").write_bytes(b"a clinician's own file")
    rows = measure_batch(batch, Segmenter(device="cpu"))
    assert [r["status"] for r in rows] == ["ok"] * 3
    assert batch.reports_not_written == ["a_second.dcm"]
    assert (reports / "a_second_fetalview_report.pdf").read_bytes() == b"a clinician's own file"
    err = capsys.readouterr().err
    assert "a_second.dcm: no report written (--reports:" in err
    assert (reports / "b_third_fetalview_report.pdf").exists()


def test_a_scan_changed_on_disk_after_it_was_measured_gets_no_report(tmp_path, samples_dir,
                                                                     capsys):
    """The report's image is read again after the measuring pass: if the file's pixels are no
    longer those measured, the report would show an image its figures were not measured on."""
    from fetalview.core.batch import batch_annotation, batch_result
    from fetalview.core.io.scans import load_scan
    from fetalview.core.model.segmenter import Segmenter
    from fetalview.core.serial_reports import CHANGED, SerialReports

    path = _study(tmp_path, "s.dcm", samples_dir / "249_HC.png", "20260517")
    scan = load_scan(path)
    result = Segmenter(device="cpu").segment(scan.pixels, scan.pixel_size, scan.regions)
    written = []
    later = SerialReports(tmp_path, lambda *args: written.append(args),
                          {"method": "edd", "edd": EDD})
    later.keep("s.dcm", scan, batch_result("s.dcm", scan, result),
               batch_annotation(scan, result), "s")
    _study(tmp_path, "s.dcm", samples_dir / "050_HC.png", "20260517")  # replaced meanwhile
    later.write()
    assert later.failed == ["s.dcm"] and not written
    assert CHANGED in capsys.readouterr().err
