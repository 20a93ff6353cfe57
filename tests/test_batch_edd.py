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
