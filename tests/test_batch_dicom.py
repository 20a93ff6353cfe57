"""``fetalview measure --dicom-out --send``: one SR and one annotated image per measured scan,
sent to a real PACS (Orthanc started here); nothing for a damaged file; a stopped PACS is
reported per scan and the batch still measures and writes everything."""

import csv
import shutil

import cv2
import pydicom
import pytest

from dicomcheck import dciodvfy_errors, num
from dicomfiles import make_dicom
from fetalview.cli import main
from fetalview.core.pacs.client import find_studies
from orthancserver import free_port, running_orthanc


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory):
    with running_orthanc(tmp_path_factory.mktemp("orthanc")) as node:
        yield node


@pytest.fixture
def scans(tmp_path, samples_dir):
    folder = tmp_path / "scans"
    folder.mkdir()
    for name in ("249_HC.png", "samples_pixel_size_and_HC.csv"):
        shutil.copy(samples_dir / name, folder / name)
    pixels = cv2.imread(str(samples_dir / "050_HC.png"), cv2.IMREAD_GRAYSCALE)
    source = make_dicom(folder / "IM0001.dcm", pixels, pixel_spacing=[0.059113257] * 2)
    ds = pydicom.dcmread(source)
    ds.PatientID = "BATCH-" + ds.StudyInstanceUID[-8:]  # unique in the shared server
    ds.save_as(source)
    (folder / "broken.dcm").write_bytes(b"\0" * 128 + b"DICM" + b"\x02\x00" * 20)
    return folder


def _rows(path):
    with open(path, newline="") as f:
        return {r["filename"]: r for r in csv.DictReader(f)}


def test_measured_scans_are_written_and_sent(scans, tmp_path, orthanc, capsys):
    out, csv_path = tmp_path / "out", tmp_path / "r.csv"
    code = main(["measure", str(scans), "--out", str(csv_path), "--dicom-out", str(out),
                 "--send", str(orthanc), "--device", "cpu"])
    assert code == 1  # the PNG scan's results have no patient: written, not sent
    assert sorted(p.name for p in out.iterdir()) == [
        "249_HC_SC.dcm", "249_HC_SR.dcm", "IM0001_SC.dcm", "IM0001_SR.dcm"]  # not broken.dcm
    rows = _rows(csv_path)
    assert rows["broken.dcm"]["status"].startswith("error")
    source = pydicom.dcmread(scans / "IM0001.dcm")
    sr = pydicom.dcmread(out / "IM0001_SR.dcm")
    assert sr.StudyInstanceUID == source.StudyInstanceUID
    assert num(sr, "11984-2")[0] == pytest.approx(float(rows["IM0001.dcm"]["hc_mm"]), abs=0.01)
    assert sr.VerificationFlag == "UNVERIFIED"  # a batch result is nobody's confirmation
    for path in out.iterdir():
        assert dciodvfy_errors(path) == []
    err = capsys.readouterr().err
    assert "results of 1 scans sent to " + str(orthanc) + "; 1 not sent" in err
    assert "249_HC.png: not sent: 249_HC_SR.dcm has no patient ID" in err
    # in the PACS: the SR and the image joined the scan's study (the scan itself is not sent)
    [hit] = find_studies(orthanc, patient_id=source.PatientID)
    assert hit.study_uid == source.StudyInstanceUID and hit.instances == "2"
    png_sr = pydicom.dcmread(out / "249_HC_SR.dcm")
    assert png_sr.PatientID == ""
    assert [h for h in find_studies(orthanc) if h.study_uid == png_sr.StudyInstanceUID] == []


def test_png_results_go_to_the_pacs_under_the_patient_given(scans, tmp_path, orthanc, capsys):
    out = tmp_path / "out"
    patient_id = "PNG-" + tmp_path.name[-12:]
    code = main(["measure", str(scans / "249_HC.png"), str(scans / "IM0001.dcm"),
                 "--pixel-size-csv", str(scans / "samples_pixel_size_and_HC.csv"),
                 "--dicom-out", str(out), "--send", str(orthanc), "--device", "cpu",
                 "--patient-id", patient_id, "--patient-name", "Roe^Mary"])
    assert code == 0, capsys.readouterr().err
    png_sr = pydicom.dcmread(out / "249_HC_SR.dcm")
    assert (png_sr.PatientID, str(png_sr.PatientName)) == (patient_id, "Roe^Mary")
    [hit] = find_studies(orthanc, patient_id=patient_id)
    assert hit.study_uid == png_sr.StudyInstanceUID and hit.instances == "2"
    # a DICOM scan keeps its own patient, whatever was given for the PNG scans
    assert pydicom.dcmread(out / "IM0001_SR.dcm").PatientID.startswith("BATCH-")


def test_a_stopped_pacs_is_reported_per_scan_and_the_batch_goes_on(scans, tmp_path, capsys):
    out, csv_path = tmp_path / "out", tmp_path / "r.csv"
    stopped = f"ORTHANC@127.0.0.1:{free_port()}"
    code = main(["measure", str(scans), "--out", str(csv_path), "--dicom-out", str(out),
                 "--send", stopped, "--device", "cpu", "--patient-id", "P-1"])
    assert code == 1  # not everything was sent
    err = capsys.readouterr().err
    [first] = [n for n in ("249_HC.png", "IM0001.dcm") if f"fetalview: {n}: not sent" in err]
    assert f"fetalview: {first}: not sent: {stopped} cannot be reached" in err
    assert f"{stopped} is not tried again in this run" in err  # each would only fail again
    assert f"results of 0 scans sent to {stopped}; 1 not sent (see above); 1 not tried" in err
    assert len(list(out.iterdir())) == 4  # written all the same, to send later
    rows = _rows(csv_path)
    assert rows["249_HC.png"]["status"] == "ok" and rows["249_HC.png"]["hc_mm"]


@pytest.mark.parametrize("argv, message", [
    (["--send", "ORTHANC@h:1"], "--send needs --dicom-out"),
    (["--dicom-out", "x", "--send", "nonsense"], "AET@HOST:PORT"),
    (["--dicom-out", "x", "--calling-aet", "A" * 17], "not an AE title"),
    (["--patient-id", "P1"], "are for --dicom-out"),
    (["--dicom-out", "x", "--patient-name", "Roe^Mary"], "--patient-name needs --patient-id"),
])
def test_bad_pacs_options_are_refused_up_front(argv, message, capsys, samples_dir):
    with pytest.raises(SystemExit) as exit_:
        main(["measure", str(samples_dir / "050_HC.png"), *argv])
    assert exit_.value.code == 2 and message in capsys.readouterr().err
