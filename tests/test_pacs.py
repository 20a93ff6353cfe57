"""DICOM networking against a real PACS (Orthanc started by the tests): echo, store the source
scan and its results, find the study, get it back and open it."""


import cv2
import numpy as np
import pydicom
import pytest

from dicomcheck import num
from dicomfiles import make_dicom, region
from fetalview.core.io.scans import list_scans, load_scan
from fetalview.core.measure.geometry import Ellipse
from fetalview.core.record.result import build_result
from fetalview.core.record.review import sign_off
from fetalview.core.record.sidecar import Annotation
from fetalview.core.results.dicom_results import make_results
from fetalview.core.pacs.client import PacsError, PacsNode, echo, find_studies, store
from fetalview.core.pacs.retrieve import get_study
from fetalview.core.pacs.node import check_ae_title
from orthancserver import free_port, running_orthanc


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory):
    with running_orthanc(tmp_path_factory.mktemp("orthanc")) as node:
        yield node


def test_node_parsing():
    assert PacsNode.parse("ORTHANC@127.0.0.1:4242") == PacsNode("ORTHANC", "127.0.0.1", 4242)
    assert str(PacsNode.parse(" PACS1@[::1]:104 ")) == "PACS1@::1:104"
    for bad in ("ORTHANC127.0.0.1:4242", "ORTHANC@host", "@host:1", "A@h:70000",
                "SEVENTEEN_CHARS_X@h:1", "A\\B@h:1"):
        with pytest.raises(ValueError):
            PacsNode.parse(bad)


def test_ae_title_rules():
    """PS3.5's AE: 1 to 16 characters, no backslash or control character, spaces around it
    not significant (so all spaces is no title)."""
    assert check_ae_title("  SIXTEEN_CHARS_XY ") == "SIXTEEN_CHARS_XY"
    assert check_ae_title("MY PACS-1") == "MY PACS-1"
    for bad in ("", "    ", "SEVENTEEN_CHARS_X", "A\\B", "A\x00B", "A\x1bB", "ÄRZTE"):
        with pytest.raises(ValueError, match="not an AE title"):
            check_ae_title(bad)


def test_echo_and_refusals(orthanc):
    echo(orthanc)
    with pytest.raises(PacsError, match="does not recognise the called AE title NOT_ORTHANC"):
        echo(PacsNode("NOT_ORTHANC", orthanc.host, orthanc.port))  # Orthanc checks it
    with pytest.raises(PacsError, match="cannot be reached"):
        echo(PacsNode("ORTHANC", "127.0.0.1", free_port()), timeout=2)


def test_round_trip_results_land_in_the_scans_study_and_the_scan_comes_back(orthanc, tmp_path):
    img = np.full((300, 400), 30, np.uint8)
    cv2.ellipse(img, (200, 150), (120, 90), 20, 0, 360, 220, 3)
    source_path = make_dicom(tmp_path / "src.dcm", img, regions=[region(0, 0, 399, 299, 0.05)])
    source = pydicom.dcmread(source_path)
    source.PatientID = "RT-" + source.StudyInstanceUID[-8:]  # unique in this server
    source.SpecificCharacterSet, source.PatientName = "ISO_IR 192", "Doe-Ñandú^Jane"
    source.save_as(source_path)
    store(orthanc, [source_path])  # the scanner's image, as it reaches the PACS

    scan = load_scan(source_path)
    ellipse = Ellipse(200, 150, 120, 90, 20)
    signoff = sign_off("Smith^Anna", ellipse, ellipse, scan.pixel_size, "resunet-test")
    annotation = Annotation("src.dcm", ellipse=ellipse, auto_ellipse=ellipse,
                            pixel_size=scan.pixel_size, model_version="resunet-test",
                            confidence=0.99, confirmed=signoff)
    result = build_result("src.dcm", annotation, scan.pixels)
    results = make_results(scan, result)
    store(orthanc, results.write(tmp_path, "src"))

    hits = find_studies(orthanc, patient_id=source.PatientID)
    assert [h.study_uid for h in hits] == [source.StudyInstanceUID]
    assert hits[0].instances == "3" and hits[0].patient_name == "Doe-Ñandú Jane"
    assert set(hits[0].modalities.split(", ")) == {"US", "SR", "OT"}
    assert find_studies(orthanc, patient_name="Ñandú^Ja", study_date="20260315")  # part of it
    assert find_studies(orthanc, patient_id=source.PatientID, study_date="20000101") == []

    everything = get_study(orthanc, source.StudyInstanceUID, tmp_path / "all",
                           keep=lambda ds: True).saved
    sr = next(pydicom.dcmread(p) for p in everything if pydicom.dcmread(p).Modality == "SR")
    assert num(sr, "11984-2")[0] == pytest.approx(result.measurement.hc, abs=0.01)

    cache = tmp_path / "cache"
    retrieved = get_study(orthanc, source.StudyInstanceUID, cache)  # what the app opens
    got = retrieved.saved  # scans only
    assert [p.name for p in got] == [source.SOPInstanceUID + ".dcm"]
    assert retrieved.folder == cache / source.StudyInstanceUID and retrieved.complete
    assert retrieved.summary() == "Retrieved 3 of 3 instances. 1 image to open."
    assert list_scans(retrieved.folder) == got
    reopened = load_scan(got[0])
    assert (reopened.pixels == scan.pixels).all() and reopened.pixel_size == scan.pixel_size


def test_store_to_a_stopped_pacs_says_so(tmp_path):
    path = make_dicom(tmp_path / "a.dcm", np.zeros((32, 32), np.uint8))
    with pytest.raises(PacsError, match="cannot be reached"):
        store(PacsNode("ORTHANC", "127.0.0.1", free_port()), [path], timeout=2)


def test_a_file_without_patient_id_is_refused_and_nothing_of_the_batch_is_sent(orthanc, tmp_path):
    good = make_dicom(tmp_path / "good.dcm", np.zeros((32, 32), np.uint8))
    ds = pydicom.dcmread(good)
    ds.PatientID = "NOID-" + ds.StudyInstanceUID[-8:]
    ds.save_as(good)
    orphan = make_dicom(tmp_path / "orphan.dcm", np.zeros((32, 32), np.uint8))
    ds = pydicom.dcmread(orphan)
    ds.PatientID = "  "
    ds.save_as(orphan)
    with pytest.raises(PacsError, match="orphan.dcm has no patient ID"):
        store(orthanc, [good, orphan])
    assert find_studies(orthanc, patient_id=pydicom.dcmread(good).PatientID) == []


def test_a_resent_unchanged_result_does_not_pile_up_and_a_changed_one_adds_a_report(orthanc,
                                                                                   tmp_path):
    """Issue 23 item 12: 4 sends of one result left 4 SR series in the study. Now the same
    result sent twice is one SR and one SC series; a changed result is a second SR."""
    img = np.full((300, 400), 30, np.uint8)
    cv2.ellipse(img, (200, 150), (120, 90), 20, 0, 360, 220, 3)
    source_path = make_dicom(tmp_path / "src.dcm", img, regions=[region(0, 0, 399, 299, 0.05)])
    source = pydicom.dcmread(source_path)
    source.PatientID = "RS-" + source.StudyInstanceUID[-8:]
    source.save_as(source_path)
    scan = load_scan(source_path)

    def send(ellipse, folder):
        annotation = Annotation("src.dcm", ellipse=ellipse, auto_ellipse=ellipse,
                                pixel_size=scan.pixel_size, model_version="resunet-test",
                                confidence=0.99)
        results = make_results(scan, build_result("src.dcm", annotation, scan.pixels))
        store(orthanc, results.write(tmp_path / folder, "src"))

    def series():
        back = get_study(orthanc, source.StudyInstanceUID, tmp_path / "back",
                         keep=lambda ds: True).saved
        found = [pydicom.dcmread(p) for p in back]
        return sorted((ds.Modality, ds.SeriesInstanceUID) for ds in found)

    for folder in ("first", "second"):
        (tmp_path / folder).mkdir()
    send(Ellipse(200, 150, 120, 90, 20), "first")
    send(Ellipse(200, 150, 120, 90, 20), "second")
    once = series()
    assert [m for m, _ in once] == ["OT", "SR"]
    (tmp_path / "changed").mkdir()
    send(Ellipse(200, 150, 118, 90, 20), "changed")
    assert [m for m, _ in series()] == ["OT", "OT", "SR", "SR"]
