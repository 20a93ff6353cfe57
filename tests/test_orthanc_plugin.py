"""Measure on arrival (issue 18, item 1), end to end: a real Orthanc runs fetalview's plugin
(Debian orthanc and orthanc-python) on loopback, and images are sent to it with a real DICOM
client. A calibrated scan gets its SR and annotated image in its own study, the same figures
as ``fetalview measure``; a burst is measured exactly once, with C-ECHO answered meanwhile,
even when Orthanc is stopped in the middle and started again; what is not a measurable
ultrasound image gets nothing and the queue goes on."""

from __future__ import annotations

import csv
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pydicom
import pytest
from pydicom.uid import CTImageStorage, generate_uid

from dicomcheck import dciodvfy_errors, num
from dicomfiles import jpeg_dicom, make_dicom
from fetalview.cli import main
from fetalview.core.pacs.client import echo, find_studies, store
from orthancplugin import Node, started
from orthancserver import running_orthanc

SPACING = 0.059113257  # 050_HC.png's pixel size (mm), from the HC18 CSV
SR_CLASS = "1.2.840.10008.5.1.4.1.1.88.33"  # Comprehensive SR


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    with started(tmp_path_factory.mktemp("arrival")) as running:
        yield running


def _scan(path: Path, patient: str, scale: float = 1.0, study: str | None = None) -> Path:
    pixels = cv2.imread(str(Path(__file__).parents[1] / "resources" / "samples" / "050_HC.png"),
                        cv2.IMREAD_GRAYSCALE)
    if scale != 1.0:  # small images keep a burst quick; the model sees the same head
        pixels = cv2.resize(pixels, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    make_dicom(path, pixels, pixel_spacing=[SPACING / scale] * 2)
    ds = pydicom.dcmread(path)
    ds.PatientID = patient
    ds.StudyInstanceUID = study or ds.StudyInstanceUID
    ds.save_as(path)
    return path


def _burst(folder: Path, count: int) -> tuple[list[Path], str]:
    folder.mkdir()
    patient, study = "BURST-" + generate_uid()[-10:], generate_uid()
    return [_scan(folder / f"IM{i:04d}.dcm", patient, 0.25, study) for i in range(count)], patient


def _sources_of_srs(node: Node, patient: str) -> list[str]:
    """The SOP Instance UID each of the patient's automatic SRs was measured on, one per SR."""
    sources = []
    for instance in node.find(PatientID=patient, SOPClassUID=SR_CLASS, Manufacturer="fetalview"):
        sr = node.dataset(instance)
        [evidence] = sr.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence
        sources += [ref.ReferencedSOPInstanceUID for ref in evidence.ReferencedSOPSequence]
    return sources


def test_a_calibrated_scan_gets_its_sr_and_image_in_its_study_within_10_s(node, tmp_path):
    scan = _scan(tmp_path / "IM0001.dcm", "ARRIVAL-1")
    source = pydicom.dcmread(scan)
    start = time.monotonic()
    store(node.pacs, [scan])
    study = node.wait_for(lambda: len(node.find(StudyInstanceUID=source.StudyInstanceUID)) >= 3
                          and node.find(StudyInstanceUID=source.StudyInstanceUID), 10,
                          "no SR and annotated image")
    assert time.monotonic() - start < 10
    results = [node.dataset(i) for i in study]
    [sr] = [d for d in results if d.Modality == "SR"]
    [sc] = [d for d in results if d.Modality != "SR" and d.SOPInstanceUID != source.SOPInstanceUID]
    assert sr.VerificationFlag == "UNVERIFIED" and sr.PreliminaryFlag == "PRELIMINARY"
    assert sr.StudyInstanceUID == sc.StudyInstanceUID == source.StudyInstanceUID
    assert sc.Manufacturer == "fetalview" and sc.SeriesDescription == "fetalview annotated head"
    out = tmp_path / "measured.csv"
    assert main(["measure", str(scan), "--out", str(out), "--device", "cpu"]) == 0
    with open(out, newline="") as f:
        [row] = list(csv.DictReader(f))
    assert num(sr, "11984-2")[0] == pytest.approx(float(row["hc_mm"]), abs=0.01)
    for ds, name in ((sr, "sr.dcm"), (sc, "sc.dcm")):
        ds.save_as(tmp_path / name)
        assert dciodvfy_errors(tmp_path / name) == []


def test_a_burst_is_measured_once_each_while_echo_stays_quick(node, tmp_path):
    scans, patient = _burst(tmp_path / "burst", 100)
    echoes: list[float] = []
    done = threading.Event()

    def keep_echoing():
        while not done.is_set():
            start = time.monotonic()
            echo(node.pacs, timeout=5)
            echoes.append(time.monotonic() - start)
            time.sleep(0.1)
    echoing = threading.Thread(target=keep_echoing)
    echoing.start()
    try:
        store(node.pacs, scans)  # one association
        node.wait_for(lambda: len(node.find(PatientID=patient, SOPClassUID=SR_CLASS)) >= 100,
                      150, "not every image of the burst got its SR")
    finally:
        done.set()
        echoing.join()
    time.sleep(1)  # nothing more comes
    sources = _sources_of_srs(node, patient)
    assert sorted(sources) == sorted(pydicom.dcmread(p).SOPInstanceUID for p in scans)
    assert len(echoes) > 10 and max(echoes) < 1.0


def test_a_restart_in_the_middle_of_a_burst_measures_each_image_once(tmp_path):
    folder = tmp_path / "orthanc"
    scans, patient = _burst(tmp_path / "burst", 40)
    with started(folder) as first:
        store(first.pacs, scans)
        first.wait_for(lambda: len(first.find(PatientID=patient, SOPClassUID=SR_CLASS)) >= 10,
                       60, "the burst was not being measured")
        assert len(first.find(PatientID=patient, SOPClassUID=SR_CLASS)) < 30  # work is left
    with started(folder) as second:  # SIGTERM'ed in the middle, started on the same storage
        assert "measuring what arrived after change" in second.log()
        second.wait_for(lambda: len(second.find(PatientID=patient, SOPClassUID=SR_CLASS)) >= 40,
                        90, "the images left at the restart were not measured")
        time.sleep(1)
        sources = _sources_of_srs(second, patient)
    assert sorted(sources) == sorted(pydicom.dcmread(p).SOPInstanceUID for p in scans)


def test_what_cannot_or_must_not_be_measured_gets_nothing_and_the_queue_goes_on(node, tmp_path):
    patient = "LEFT-" + generate_uid()[-10:]
    damaged = jpeg_dicom(tmp_path / "damaged.dcm", b"\xff\xd8\xff\xdb" + bytes(200), (270, 400))
    ct = make_dicom(tmp_path / "ct.dcm", np.full((64, 64), 100, np.uint8), pixel_spacing=[1, 1])
    for path, fields in ((damaged, {"PixelSpacing": [0.15, 0.15]}),
                         (ct, {"SOPClassUID": CTImageStorage, "Modality": "CT"})):
        ds = pydicom.dcmread(path)
        for keyword, value in fields.items():
            setattr(ds, keyword, value)
        ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
        ds.PatientID = patient
        ds.save_as(path)
    # an SR of another system, made from fetalview's (an SR is never measured)
    scan = _scan(tmp_path / "scan.dcm", patient)
    assert main(["measure", str(scan), "--dicom-out", str(tmp_path / "out"),
                 "--out", str(tmp_path / "r.csv"), "--device", "cpu"]) == 0
    other_sr = pydicom.dcmread(tmp_path / "out" / "scan_SR.dcm")
    other_sr.Manufacturer = "Another vendor"
    other_sr.save_as(tmp_path / "other_sr.dcm")
    uncalibrated = make_dicom(tmp_path / "uncalibrated.dcm",  # a head, no pixel size
                              np.ascontiguousarray(pydicom.dcmread(scan).pixel_array[::4, ::4]))
    no_head = make_dicom(tmp_path / "no_head.dcm", np.full((135, 200), 90, np.uint8),
                         pixel_spacing=[0.2, 0.2])
    for path in (uncalibrated, no_head):
        ds = pydicom.dcmread(path)
        ds.PatientID = patient
        ds.save_as(path)
    last = _scan(tmp_path / "last.dcm", patient, 0.25)
    store(node.pacs, [damaged, ct, tmp_path / "other_sr.dcm", uncalibrated, no_head, last])
    node.wait_for(lambda: len(node.find(PatientID=patient, SOPClassUID=SR_CLASS)) >= 2, 30,
                  "the scan sent after them was not measured")
    time.sleep(1)
    assert _sources_of_srs(node, patient) == [pydicom.dcmread(last).SOPInstanceUID]
    log = node.log()
    assert "no SR stored: error: " + pydicom.dcmread(damaged).SOPInstanceUID + ".dcm: the DICOM " \
        "file's compressed pixel data is damaged" in log
    assert "no SR stored: measured in pixels only, as the image states no pixel size" in log
    assert "no SR stored: no head found" in log
    assert "left alone: not an ultrasound image fetalview measures (SOP class " \
        f"{CTImageStorage})" in log
    assert "left alone: not an ultrasound image fetalview measures (SOP class " \
        f"{SR_CLASS})" in log


def test_results_are_forwarded_and_the_image_can_be_left_out(tmp_path):
    scan = _scan(tmp_path / "IM0001.dcm", "FORWARD-1", 0.25)
    with running_orthanc(tmp_path / "pacs") as pacs, \
            started(tmp_path / "node", forward=pacs, StoreAnnotatedImage=False) as node:
        store(node.pacs, [scan])
        node.wait_for(lambda: find_studies(pacs, patient_id="FORWARD-1"), 30,
                      "the SR was not forwarded")
        [study] = find_studies(pacs, patient_id="FORWARD-1")
        assert study.instances == "1"  # the SR, not the scan, not an annotated image
        assert len(node.find(PatientID="FORWARD-1")) == 2  # the scan and its SR
