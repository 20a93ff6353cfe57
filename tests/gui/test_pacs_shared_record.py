"""The PACS as the shared record, in the app (issue 18 item 2), against a real Orthanc: a study
measured on arrival opens with its automatic contour and no model run; confirming it sends a
VERIFIED report naming the automatic one; another workstation then sees it confirmed, by whom.

The main test runs against an Orthanc with fetalview's plugin (``orthancplugin``): the image
is sent with a DICOM client and the plugin measures it on arrival. The others, about what the
app does with the reports, simulate the plugin (quicker, and a contour of their choosing): the
batch's own code (``batch_result`` and ``make_results``, as ``fetalview measure --dicom-out``
and the plugin) builds the SR and annotated image, and a DICOM client stores them in the
image's study of a plain Orthanc."""

import cv2
import pydicom
import pytest
from PySide6.QtCore import QSettings
from dicomfiles import make_dicom, region
from orthancplugin import started
from orthancserver import running_orthanc

from fetalview.core.batch import batch_result
from fetalview.core.io.scans import load_scan
from fetalview.core.measure.geometry import Ellipse
from fetalview.core.model.segmentation import Segmentation
from fetalview.core.pacs.client import store
from fetalview.core.pacs.retrieve import get_study
from fetalview.core.record.review import CONFIRMED
from fetalview.core.results.dicom_results import make_results
from fetalview.core.results.sr_reader import read_report
from fetalview.gui.pacs.dialogs import PacsSettings
from fetalview.gui.settings import AppSettings

from .conftest import SAMPLES, FakeSegmenter

SR_CLASS = "1.2.840.10008.5.1.4.1.1.88.33"  # Comprehensive SR, as the plugin writes it
ON_ARRIVAL = Ellipse(400.0, 270.0, 160.0, 128.0, 15.0)  # not what the app's fake model draws


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory):
    with running_orthanc(tmp_path_factory.mktemp("orthanc")) as node:
        yield node


@pytest.fixture(scope="module")
def arrival(tmp_path_factory):
    """Orthanc with fetalview's plugin, its model loaded (skips where orthanc-python is
    missing, saying so)."""
    with started(tmp_path_factory.mktemp("arrival")) as node:
        yield node


def _calibrated_image(tmp_path, orthanc, patient_id: str, name: str = "arrived",
                      study_uid: str | None = None, number: int = 1):
    """A calibrated US image (0.1 mm pixels) of 050_HC.png, stored into ``orthanc`` with a
    real DICOM client; returns its path and dataset."""
    pixels = cv2.imread(str(SAMPLES / "050_HC.png"), cv2.IMREAD_GRAYSCALE)
    rows, cols = pixels.shape
    path = make_dicom(tmp_path / f"{name}.dcm", pixels,
                      regions=[region(0, 0, cols - 1, rows - 1, 0.01)])
    ds = pydicom.dcmread(path)
    ds.PatientID, ds.InstanceNumber = patient_id, number
    ds.StudyInstanceUID = study_uid or ds.StudyInstanceUID
    ds.save_as(path)
    store(orthanc, [path])
    return path, ds


def _measured_on_arrival(tmp_path, orthanc, patient_id: str, name: str = "arrived",
                         study_uid: str | None = None, number: int = 1):
    """A calibrated US image in the PACS with an automatic SR and annotated image in its
    study as the plugin makes them (its code: see the module's text), without starting the
    plugin; returns the image's dataset and the SR."""
    path, ds = _calibrated_image(tmp_path, orthanc, patient_id, name, study_uid, number)
    scan = load_scan(path)
    segmentation = Segmentation(None, ON_ARRIVAL.points(64), ON_ARRIVAL, 0.99, "plugin-model-1",
                                pixel_size=scan.pixel_size)
    results = make_results(scan, batch_result(path.name, scan, segmentation))
    (tmp_path / "plugin").mkdir(exist_ok=True)
    store(orthanc, results.write(tmp_path / "plugin", name))
    return ds, results.sr


def _window_of(make_window, tmp_path, name: str, orthanc, segmenter):
    """An app instance of its own: its own settings and data folder (so its own PACS cache)."""
    settings = AppSettings(QSettings(str(tmp_path / name / "settings.ini"), QSettings.IniFormat),
                           data_dir=tmp_path / name / "appdata")
    PacsSettings(orthanc.ae_title, orthanc.host, orthanc.port,
                 organization="Clinic X").save(settings.store)
    return make_window(segmenter, settings=settings)


def _open_study(qtbot, window, ds):
    """File > Open from PACS, the study found by its patient and retrieved."""
    window.pacs.open_from_pacs()
    dialog = window.pacs.open_dialog
    dialog.date.setText(ds.StudyDate)
    dialog.patient_id.setText(ds.PatientID)
    dialog.search()
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 1 and dialog.open_button.isEnabled(),
                    timeout=10000)
    dialog.retrieve()
    qtbot.waitUntil(lambda: window.session.current is not None
                    and window.session.current.path.stem == ds.SOPInstanceUID, timeout=20000)
    return window.session.current


def _reports(orthanc, ds, folder):
    return [pydicom.dcmread(p) for p in get_study(orthanc, ds.StudyInstanceUID, folder,
                                                  keep=lambda x: x.Modality == "SR").saved]


def test_a_study_measured_on_arrival_is_shown_confirmed_sent_and_seen_by_a_colleague(
        qtbot, make_window, arrival, tmp_path):
    """Against a real Orthanc running fetalview's plugin: the image is sent with a DICOM
    client, the plugin measures it on arrival, and the app takes it from there."""
    orthanc = arrival.pacs
    _, ds = _calibrated_image(tmp_path, orthanc, "ARRIVED-1")
    [found] = arrival.wait_for(lambda: arrival.find(PatientID=ds.PatientID,
                                                    SOPClassUID=SR_CLASS,
                                                    Manufacturer="fetalview"),
                               60, "the plugin stored no SR for the image")
    automatic = arrival.dataset(found)
    assert (automatic.VerificationFlag, automatic.PreliminaryFlag) == ("UNVERIFIED",
                                                                    "PRELIMINARY")
    on_arrival = read_report(automatic)
    first_model = FakeSegmenter()
    first = _window_of(make_window, tmp_path, "one", orthanc, first_model)
    document = _open_study(qtbot, first, ds)
    e, want = document.annotation.ellipse, on_arrival.ellipse
    assert (e.cx, e.cy, e.major, e.minor) == pytest.approx(
        (want.cx, want.cy, want.major, want.minor), abs=0.01)
    assert first.session.states[document.path] == "auto"
    panel = first.panel
    assert panel.pacs_label.isVisible()
    assert panel.pacs_label.text() == f"As stored in the PACS: report by {on_arrival.source}."
    assert on_arrival.source.startswith("fetalview (")  # names the plugin's model
    qtbot.wait(300)  # the background queue had its turn too
    assert first_model.calls == 0  # shown as the PACS holds it, never measured again

    first.settings.operator = "Smith^Anna"
    assert first.confirm_contour()  # Confirm: sent at once, the PACS being the shared record
    qtbot.waitUntil(lambda: first.pacs.job is not None and not first.pacs.job.running,
                    timeout=20000)
    assert "Sent the report and image of 1 scan" in first.statusBar().currentMessage()
    reports = _reports(orthanc, ds, tmp_path / "back")
    assert len(reports) == 2  # the automatic report is kept beside the confirmation
    verified = next(r for r in reports if r.VerificationFlag == "VERIFIED")
    [study] = verified.PredecessorDocumentsSequence
    [series] = study.ReferencedSeriesSequence
    [sop] = series.ReferencedSOPSequence
    assert (study.StudyInstanceUID, series.SeriesInstanceUID, sop.ReferencedSOPClassUID,
            sop.ReferencedSOPInstanceUID) == (automatic.StudyInstanceUID,
                                             automatic.SeriesInstanceUID, automatic.SOPClassUID,
                                             automatic.SOPInstanceUID)
    assert str(verified.VerifyingObserverSequence[0].VerifyingObserverName) == "Smith^Anna"

    second_model = FakeSegmenter()
    second = _window_of(make_window, tmp_path, "two", orthanc, second_model)
    second.settings.operator = "Khan^Bilal"  # another signer, who only looks
    seen = _open_study(qtbot, second, ds)
    assert second.session.states[seen.path] == CONFIRMED  # the list says it is signed off
    result = seen.result()
    assert result.signoff.by == "Smith Anna"
    assert result.signoff.when_text in second.panel.state_label.text()
    assert "by Smith Anna" in second.panel.state_label.text()
    assert result.replaces.sop_instance_uid == verified.SOPInstanceUID  # a correction names it
    qtbot.wait(300)
    assert second_model.calls == 0


def test_confirming_through_a_study_sends_every_confirmation(qtbot, make_window, orthanc,
                                                             tmp_path):
    """Space through a study: the second confirmation comes while the first is still being
    sent, and is sent when that ends, not dropped."""
    first, _ = _measured_on_arrival(tmp_path, orthanc, "ARRIVED-3", "a")
    second, _ = _measured_on_arrival(tmp_path, orthanc, "ARRIVED-3", "b",
                                     first.StudyInstanceUID, 2)
    window = _window_of(make_window, tmp_path, "one", orthanc, FakeSegmenter())
    window.settings.operator = "Smith^Anna"
    _open_study(qtbot, window, first)
    window.confirm_and_next()
    assert window.pacs.job.running and window.session.current.path.stem == second.SOPInstanceUID
    window.confirm_and_next()
    qtbot.waitUntil(lambda: not window.pacs.waiting and not window.pacs.job.running,
                    timeout=20000)
    verified = [r for r in _reports(orthanc, first, tmp_path / "back")
                if r.VerificationFlag == "VERIFIED"]
    assert len(verified) == 2


def test_other_systems_figures_are_shown_beside_read_only(qtbot, make_window, orthanc,
                                                          tmp_path):
    ds, automatic = _measured_on_arrival(tmp_path, orthanc, "ARRIVED-2")
    scanner = automatic.copy()
    scanner.SOPInstanceUID = pydicom.uid.generate_uid()
    scanner.SeriesInstanceUID = pydicom.uid.generate_uid()
    scanner.Manufacturer, scanner.ManufacturerModelName = "Acme", "Scanner 9"
    for item in scanner.ContentSequence:
        if item.ConceptNameCodeSequence[0].CodeValue == "121014":  # device manufacturer
            item.TextValue = "Acme"
    path = tmp_path / "scanner_sr.dcm"
    scanner.save_as(path, enforce_file_format=True)
    store(orthanc, [path])
    window = _window_of(make_window, tmp_path, "one", orthanc, FakeSegmenter())
    document = _open_study(qtbot, window, ds)
    text = window.panel.pacs_label.text()
    hc = document.result().ellipse_measurement.hc
    assert f"Acme Scanner 9, in the PACS (read-only, not checked here): HC {hc:.1f} mm" in text
    assert document.annotation.ellipse is not None  # fetalview's own result is the contour


def test_a_correction_after_a_confirmation_sent_names_that_confirmation(qtbot, make_window,
                                                                       orthanc, tmp_path):
    """Once a report of the scan is stored in the PACS, that report is where the scan's
    result stands: a correction made afterwards on the same workstation names the
    confirmation just sent as the report it replaces, not the automatic one before it."""
    ds, automatic = _measured_on_arrival(tmp_path, orthanc, "ARRIVED-4")
    window = _window_of(make_window, tmp_path, "one", orthanc, FakeSegmenter())
    window.settings.operator = "Smith^Anna"
    document = _open_study(qtbot, window, ds)
    assert window.confirm_contour()
    qtbot.waitUntil(lambda: window.pacs.job is not None and not window.pacs.job.running,
                    timeout=20000)
    [verified] = [r for r in _reports(orthanc, ds, tmp_path / "1")
                  if r.VerificationFlag == "VERIFIED"]
    e = document.annotation.ellipse
    document.edit_ellipse(Ellipse(e.cx + 12, e.cy, e.major, e.minor, e.angle_deg), "Move")
    assert window.confirm_contour()
    qtbot.waitUntil(lambda: not window.pacs.waiting and not window.pacs.job.running,
                    timeout=20000)
    reports = _reports(orthanc, ds, tmp_path / "2")
    assert {r.SOPInstanceUID for r in reports} >= {automatic.SOPInstanceUID,
                                                   verified.SOPInstanceUID}
    assert len(reports) == 3  # nothing in the PACS is replaced or deleted
    [third] = [r for r in reports if r.SOPInstanceUID not in (automatic.SOPInstanceUID,
                                                              verified.SOPInstanceUID)]
    [study] = third.PredecessorDocumentsSequence
    [series] = study.ReferencedSeriesSequence
    [sop] = series.ReferencedSOPSequence
    assert (series.SeriesInstanceUID, sop.ReferencedSOPInstanceUID) == (
        verified.SeriesInstanceUID, verified.SOPInstanceUID)
    assert window.pacs.outcome[-1][1] is None  # the correction was sent
