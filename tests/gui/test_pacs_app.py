"""The app and a real PACS (Orthanc started here): the node in settings with Test connection,
Send to PACS in the background, and Open from PACS."""

import shutil
from dataclasses import replace

import cv2
import pydicom
import pytest
from PySide6.QtCore import Qt
from dicomcheck import num
from dicomfiles import make_dicom
from orthancserver import free_port, running_orthanc

from fetalview.core.pacs.client import find_studies, store
from fetalview.core.pacs.sent import SentLog
from fetalview.core.pacs.retrieve import get_study
from fetalview.gui.pacs.dialogs import OpenFromPacsDialog, PacsSettings, PacsSettingsDialog
from fetalview.gui.pacs.features import SendDetails
from fetalview.gui.pacs.patients import PatientsDialog

from .conftest import SAMPLES, open_and_wait


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory):
    with running_orthanc(tmp_path_factory.mktemp("orthanc")) as node:
        yield node


def _use(window, node, **kw):
    PacsSettings(node.ae_title, node.host, node.port, organization="Clinic X", **kw).save(
        window.settings.store)


def _scan_in_pacs(tmp_path, orthanc, name="IM0001.dcm"):
    """A DICOM scan (a real HC18 image, 0.1 mm pixels) already stored in the PACS."""
    pixels = cv2.imread(str(SAMPLES / "050_HC.png"), cv2.IMREAD_GRAYSCALE)
    path = make_dicom(tmp_path / name, pixels, pixel_spacing=[0.1, 0.1])
    ds = pydicom.dcmread(path)
    ds.PatientID = "APP-" + ds.StudyInstanceUID[-10:]
    ds.save_as(path)
    store(orthanc, [path])
    return path, ds


def _wait_sent(qtbot, window):
    qtbot.waitUntil(lambda: not window.pacs.job.running, timeout=20000)


def test_settings_dialog_tests_the_connection_in_the_background(qtbot, window, orthanc):
    dialog = PacsSettingsDialog(PacsSettings(), window)
    qtbot.addWidget(dialog)
    dialog.ae_title.setText(orthanc.ae_title)
    dialog.host.setText(orthanc.host)
    dialog.port.setValue(orthanc.port)
    dialog.test_connection()
    assert not dialog.test_button.isEnabled()  # asked in the background; the dialog stays live
    qtbot.waitUntil(lambda: dialog.test_button.isEnabled(), timeout=10000)
    assert dialog.answer.text() == f"Connected to {orthanc}."
    dialog.ae_title.setText("WRONG")
    dialog.test_connection()
    qtbot.waitUntil(lambda: dialog.test_button.isEnabled(), timeout=10000)
    assert "refused" in dialog.answer.text()
    dialog.show()
    dialog.ae_title.setText("")
    dialog.accept()  # refused: the dialog stays open and says why
    assert dialog.isVisible() and "not an AE title" in dialog.answer.text()
    settings = PacsSettings(orthanc.ae_title, orthanc.host, orthanc.port, "FETALVIEW", "C")
    settings.save(window.settings.store)
    assert PacsSettings.load(window.settings.store) == settings


def test_sent_dicom_scan_lands_in_its_own_study_with_the_apps_hc(qtbot, window, orthanc,
                                                                  tmp_path):
    path, source = _scan_in_pacs(tmp_path, orthanc)
    _use(window, orthanc)
    document = open_and_wait(qtbot, window, path)
    app_hc = document.measurement().hc
    window.pacs.act_send.trigger()  # not confirmed: the fixture answers "send as preliminary"
    assert window.pacs.job.running  # the window is free while it sends
    _wait_sent(qtbot, window)
    assert "Sent the report and image of 1 scan" in window.statusBar().currentMessage()
    [hit] = find_studies(orthanc, patient_id=source.PatientID)
    assert hit.study_uid == source.StudyInstanceUID and hit.instances == "3"
    got = get_study(orthanc, hit.study_uid, tmp_path / "back", keep=lambda ds: ds.Modality == "SR").saved
    sr = pydicom.dcmread(got[0])
    assert num(sr, "11984-2")[0] == pytest.approx(app_hc, abs=0.01)
    assert sr.VerificationFlag == "UNVERIFIED"


def test_png_scan_is_sent_to_a_new_study_under_the_typed_patient(qtbot, window, orthanc,
                                                                  scans):
    _use(window, orthanc)
    open_and_wait(qtbot, window, scans / "249_HC.png")
    window.pacs.ask_patients = lambda rows: {
        p: {"patient_name": "Roe^Mary", "patient_id": "PNG-77"} for p in rows}
    window.pacs.send_current()
    _wait_sent(qtbot, window)
    [hit] = find_studies(orthanc, patient_id="PNG-77")
    assert hit.patient_name == "Roe Mary" and hit.instances == "2"
    assert window.session.current.annotation.extra["patient"]["patient_id"] == "PNG-77"


def test_the_patients_dialog_needs_a_valid_patient_id_for_every_scan(qtbot, tmp_path):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    dialog = PatientsDialog({a: {"patient_name": "Roe^Mary"}, b: {}})
    qtbot.addWidget(dialog)
    assert not dialog.ok.isEnabled()  # a name alone would file the study under no patient
    assert dialog.reason.text() == "a.png: no patient ID (and 1 more)."
    dialog.all_id.setText(" MR-7 ")
    dialog.apply_all.click()
    assert dialog.ok.isEnabled() and dialog.reason.text() == ""
    dialog.table.item(1, 2).setText("MR\\8")  # DICOM would read two IDs
    assert not dialog.ok.isEnabled() and "b.png: the patient ID" in dialog.reason.text()
    assert "backslash" in dialog.reason.text()
    dialog.table.item(1, 2).setText("X" * 65)
    assert "longer than the 64 characters" in dialog.reason.text()
    dialog.table.item(1, 2).setText("MR-8")
    assert dialog.ok.isEnabled()
    assert dialog.fields() == {a: {"patient_name": "", "patient_id": "MR-7"},
                               b: {"patient_name": "", "patient_id": "MR-8"}}


def test_a_stopped_pacs_is_reported_and_nothing_is_lost(qtbot, window, scans):
    PacsSettings("ORTHANC", "127.0.0.1", free_port()).save(window.settings.store)
    document = open_and_wait(qtbot, window, scans / "249_HC.png")
    before = document.annotation.ellipse
    window.pacs.ask_patients = lambda rows: {p: {"patient_id": "X"} for p in rows}
    window.pacs.send_current()
    _wait_sent(qtbot, window)
    assert "Sent 0 of 1 scan to" in window.message_bar.text
    assert "Not sent: 1 the PACS did not answer" in window.message_bar.text
    window.pacs.details_button.click()
    details = window.findChild(SendDetails)
    assert "249_HC.png: " in details.text.toPlainText()
    assert "cannot be reached" in details.text.toPlainText()
    assert document.annotation.ellipse == before


def test_send_confirmed_says_when_nothing_is_confirmed(qtbot, window, scans, orthanc):
    _use(window, orthanc)
    open_and_wait(qtbot, window, scans / "249_HC.png")
    window.pacs.act_send_confirmed.trigger()
    assert "No scan in the list is confirmed" in window.message_bar.text


def test_open_from_pacs_finds_retrieves_and_opens_the_study(qtbot, window, orthanc, tmp_path):
    path, source = _scan_in_pacs(tmp_path, orthanc, "other.dcm")
    _use(window, orthanc)
    dialog = OpenFromPacsDialog(PacsSettings.load(window.settings.store), window.pacs.cache,
                                window)
    qtbot.addWidget(dialog)
    dialog.retrieved.connect(window.pacs.study_list.open)
    dialog.date.setText("2026")
    dialog.search()
    assert "date is YYYYMMDD" in dialog.status.text()
    dialog.date.setText("20260315")
    dialog.patient_id.setText(source.PatientID)
    dialog.search()
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 1, timeout=10000)
    assert dialog.table.item(0, 1).text() == source.PatientID
    assert dialog.table.item(0, 2).text() == "2026-03-15"
    assert dialog.table.item(0, 4).text() == "US"  # one modality: not split into letters
    dialog.retrieve()
    qtbot.waitUntil(lambda: window.session.current is not None
                    and window.session.current.path.name == source.SOPInstanceUID + ".dcm",
                    timeout=20000)
    shown = window.session.current.scan
    assert (shown.pixels == cv2.imread(str(SAMPLES / "050_HC.png"), 0)).all()
    assert shown.pixel_size.mm_per_pixel == pytest.approx(0.1)
    assert window.session.current.path.parent.parent == window.pacs.cache
    shutil.rmtree(window.pacs.cache)


def test_done_when_a_confirmed_dicom_scan_arrives_verified_in_its_study(qtbot, window, orthanc,
                                                                       tmp_path):
    """Measured, confirmed in the app and sent: an SR and an annotated image in the scan's own
    study, the SR's HC equal to the app's to 0.01 mm, stating who confirmed it."""
    path, source = _scan_in_pacs(tmp_path, orthanc, "confirmed.dcm")
    _use(window, orthanc)
    document = open_and_wait(qtbot, window, path)
    assert window.session.sign_off("Smith^Anna")
    app_hc = document.measurement().hc
    window.pacs.act_send.trigger()  # confirmed: sent without a question
    _wait_sent(qtbot, window)
    [hit] = find_studies(orthanc, patient_id=source.PatientID)
    assert hit.study_uid == source.StudyInstanceUID and hit.instances == "3"
    back = [pydicom.dcmread(p) for p in get_study(orthanc, hit.study_uid, tmp_path / "back",
                                                  keep=lambda ds: ds.Modality != "US").saved]
    sr = next(ds for ds in back if ds.Modality == "SR")
    sc = next(ds for ds in back if ds.Modality == "OT")
    assert num(sr, "11984-2")[0] == pytest.approx(app_hc, abs=0.01)
    assert (sr.VerificationFlag, str(sr.VerifyingObserverSequence[0].VerifyingObserverName)) \
        == ("VERIFIED", "Smith^Anna")
    assert sr.VerifyingObserverSequence[0].VerifyingOrganization == "Clinic X"
    assert sc.StudyInstanceUID == source.StudyInstanceUID != sc.SeriesInstanceUID


def test_send_all_confirmed_sends_only_the_confirmed_scans(qtbot, window, orthanc, tmp_path):
    first, first_ds = _scan_in_pacs(tmp_path, orthanc, "a.dcm")
    second, second_ds = _scan_in_pacs(tmp_path, orthanc, "b.dcm")
    _use(window, orthanc)
    open_and_wait(qtbot, window, first)
    assert window.session.sign_off("Smith^Anna")
    open_and_wait(qtbot, window, second)  # measured, not confirmed
    window.pacs.act_send_confirmed.trigger()
    _wait_sent(qtbot, window)
    assert [h.instances for h in find_studies(orthanc, patient_id=first_ds.PatientID)] == ["3"]
    assert [h.instances for h in find_studies(orthanc, patient_id=second_ds.PatientID)] == ["1"]


def test_a_peer_that_trickles_ends_test_connection_and_send_by_their_deadline(qtbot, window,
                                                                              scans):
    """Issue 23 item 4: the red-team's peer (a PDU header, then a byte every few seconds)
    held Test connection and Send to PACS for ever; now each ends by its deadline, says what
    the peer did, and a send of many scans stops trying the node after the first."""
    from hostilepeers import trickling_peer

    from fetalview.gui.pacs.features import send_scans
    with trickling_peer() as node:
        dialog = PacsSettingsDialog(PacsSettings(node.ae_title, node.host, node.port), window)
        qtbot.addWidget(dialog)
        dialog.deadlines = dict(timeout=5, deadline=1)
        dialog.test_connection()
        qtbot.waitUntil(lambda: dialog.test_button.isEnabled(), timeout=8000)
        assert "accepted the connection but did not answer" in dialog.answer.text()

        _use(window, node)
        document = open_and_wait(qtbot, window, scans / "249_HC.png")
        window.pacs.deadlines = dict(timeout=5, deadline=1)
        window.pacs.ask_patients = lambda rows: {p: {"patient_id": "X"} for p in rows}
        window.pacs.send_current()
        qtbot.waitUntil(lambda: not window.pacs.job.running, timeout=8000)
        assert "the PACS did not answer" in window.message_bar.text
        assert "accepted the connection but did not answer" in window.pacs.outcome[0][2]
        items = [(document.path, document.annotation, {"patient_id": "X"})] * 3
        outcome = send_scans(items, PacsSettings.load(window.settings.store),
                             window.settings.data_dir, lambda *a: None, timeout=5, deadline=1)
    assert [detail.startswith(f"{node} accepted") for _, _, detail in outcome] \
        == [True, False, False]
    assert outcome[2][2] == f"not tried after {node} failed"


def _row_of(dialog, patient_id):
    return next((r for r in range(dialog.table.rowCount())
                 if dialog.table.item(r, 1).text() == patient_id), None)


def test_open_from_pacs_searches_at_once_and_its_buttons_come_back(qtbot, window, orthanc,
                                                                   scans):
    """Issue 20 walkthrough 7: the dialog opened saying "Searching..." and found nothing until
    Search was pressed; after a search both Search and Retrieve stayed grey (the job still
    counted as running when its answer arrived), and a study holding only fetalview's SR and
    image could not be tried. Now it searches today's studies on opening, the buttons come
    back with the answer, and retrieving such a study says why nothing opens."""
    _use(window, orthanc)
    open_and_wait(qtbot, window, scans / "249_HC.png")
    window.pacs.ask_patients = lambda rows: {p: {"patient_name": "Today^Only",
                                              "patient_id": "TODAY-1"} for p in rows}
    window.pacs.send_current()
    _wait_sent(qtbot, window)
    dialog = OpenFromPacsDialog(PacsSettings.load(window.settings.store), window.pacs.cache,
                                window)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: _row_of(dialog, "TODAY-1") is not None, timeout=10000)
    assert "studies found" in dialog.status.text()
    assert dialog.search_button.isEnabled() and dialog.open_button.isEnabled()
    dialog.table.selectRow(_row_of(dialog, "TODAY-1"))
    dialog.retrieve()
    assert not dialog.open_button.isEnabled() and dialog.open_button.toolTip()
    qtbot.waitUntil(lambda: dialog.search_button.isEnabled(), timeout=20000)
    assert "no image fetalview can open" in dialog.status.text()
    assert dialog.open_button.isEnabled()
    dialog.patient_id.setText("NOBODY-HERE")
    dialog.search()
    qtbot.waitUntil(lambda: dialog.search_button.isEnabled(), timeout=10000)
    assert dialog.table.rowCount() == 0 and "Clear the date" in dialog.status.text()
    assert not dialog.open_button.isEnabled()
    assert dialog.open_button.toolTip() == "Choose a study in the list first"


def test_send_all_confirmed_asks_once_for_the_png_patients_and_sums_up(qtbot, window, orthanc,
                                                                       scans, tmp_path,
                                                                       monkeypatch):
    """Issue 20 walkthrough 2: Send all confirmed failed for every PNG scan ("has no patient
    ID"), asked nothing, wrote a red wall of internal file names (scan0_SR.dcm) and left
    "Sending ... (N of N)" in the status bar. Now the PNG/JPEG scans' patients are asked once
    for the list, each scan is taken as its files hold it now (one with unsaved work is not
    sent), and one short summary counts what went and why not, details on demand."""
    dicom, dicom_ds = _scan_in_pacs(tmp_path, orthanc, "c.dcm")
    _use(window, orthanc)
    pngs = [scans / "050_HC.png", scans / "249_HC.png"]
    for path in (*pngs, dicom):
        open_and_wait(qtbot, window, path)
        assert window.session.sign_off("Smith^Anna")
    asked = []
    window.pacs.ask_patients = lambda rows: asked.append(dict(rows)) or {
        p: {"patient_name": "Roe^Mary", "patient_id": "ALL-1"} for p in rows}
    checked = []
    real_up_to_date = window.session.up_to_date
    monkeypatch.setattr(window.session, "up_to_date",
                        lambda p: checked.append(p) or real_up_to_date(p))
    monkeypatch.setattr(window.session, "unsaved", lambda p: p == pngs[0])
    window.pacs.act_send_confirmed.trigger()
    _wait_sent(qtbot, window)
    assert [sorted(rows) for rows in asked] == [[pngs[1]]]  # once; not the unsaved one
    assert sorted(checked) == sorted([*pngs, dicom])
    [hit] = find_studies(orthanc, patient_id="ALL-1")
    assert hit.instances == "2" and hit.patient_name == "Roe Mary"
    assert [h.instances for h in find_studies(orthanc, patient_id=dicom_ds.PatientID)] == ["3"]
    text = window.message_bar.text
    assert text.startswith("Sent 2 of 3 scans to") and "1 unsaved work" in text
    assert "_SR.dcm" not in text and "050_HC.png" not in text  # details on demand
    assert not window.statusBar().currentMessage().startswith("Sending")
    assert window.pacs.details_button.isVisible()
    window.pacs.details_button.click()
    details = window.findChild(SendDetails).text.toPlainText()
    assert "050_HC.png: holds unsaved work" in details and "249_HC.png: sent" in details


def test_sending_is_cancelled_with_the_patients_dialog(qtbot, window, orthanc, scans):
    _use(window, orthanc)
    open_and_wait(qtbot, window, scans / "249_HC.png")
    assert window.session.sign_off("Smith^Anna")
    window.pacs.ask_patients = lambda rows: None
    window.pacs.act_send_confirmed.trigger()
    assert window.pacs.job is None and not window.message_bar.text


def test_a_new_search_supersedes_the_one_running(qtbot, window, orthanc, tmp_path):
    path, source = _scan_in_pacs(tmp_path, orthanc, "d.dcm")
    _use(window, orthanc)
    dialog = OpenFromPacsDialog(PacsSettings.load(window.settings.store), window.pacs.cache,
                                window)
    qtbot.addWidget(dialog)
    dialog.show()  # today's search starts
    dialog.date.setText("20260315")
    dialog.patient_id.setText(source.PatientID)
    qtbot.waitUntil(lambda: not dialog.search_button.isEnabled(), timeout=5000)
    dialog.search()  # Return typed in a field before today's answer came
    qtbot.waitUntil(lambda: dialog.search_button.isEnabled(), timeout=10000)
    qtbot.wait(300)  # the first answer, if it came later, must not replace this one
    assert dialog.table.rowCount() == 1
    assert dialog.table.item(0, 1).text() == source.PatientID


def _retrieve(qtbot, window, patient_id):
    """Open the study of ``patient_id`` from the PACS as the app's Open from PACS does."""
    dialog = OpenFromPacsDialog(PacsSettings.load(window.settings.store), window.pacs.cache,
                                window)
    qtbot.addWidget(dialog)
    dialog.retrieved.connect(window.pacs.study_list.open)
    dialog.date.setText("")
    dialog.patient_id.setText(patient_id)
    dialog.search()
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 1, timeout=10000)
    dialog.retrieve()
    qtbot.waitUntil(lambda: window.session.current is not None
                    and window.session.current.path.parent.parent == window.pacs.cache
                    and window.session.current.annotation.ellipse is not None, timeout=20000)
    return window.session.current


def _row(window, path):
    panel = window.folder_panel
    return next(panel.item(i) for i in range(panel.count())
                if panel.item(i).data(Qt.UserRole) == path)


def test_a_pacs_study_is_its_own_list_named_in_words_and_says_what_was_sent(
        qtbot, window, orthanc, scans, tmp_path):
    """Issue 22 item 8: a study from the PACS replaces the folder's list, its images named by
    patient, date, description and number; a send is shown (when, where), a later edit as
    "changed since sent", and Resend sends it again; the record outlives the window."""
    folder_scan = scans / "249_HC.png"
    open_and_wait(qtbot, window, folder_scan)
    pixels = cv2.imread(str(SAMPLES / "050_HC.png"), cv2.IMREAD_GRAYSCALE)
    source = pydicom.dcmread(make_dicom(tmp_path / "one.dcm", pixels, pixel_spacing=[0.1, 0.1]))
    source.PatientID, source.StudyDescription = "LIST-" + source.StudyInstanceUID[-10:], \
        "Anomaly scan"
    for number in (3, 1, 2):  # stored out of order: listed in the study's order
        source.SOPInstanceUID, source.InstanceNumber = pydicom.uid.generate_uid(), number
        source.save_as(tmp_path / f"{number}.dcm")
        store(orthanc, [tmp_path / f"{number}.dcm"])
    _use(window, orthanc)
    document = _retrieve(qtbot, window, source.PatientID)
    s = window.session
    assert len(s.scans) == 3 and folder_scan.resolve() not in s.scans  # not mixed in
    panel = window.folder_panel
    names = [panel.item(i).text().split("\n")[0] for i in range(panel.count())]
    assert names == [f"Doe Jane, 2026-03-15, Anomaly scan, image {n}" for n in (1, 2, 3)]
    assert document.path == s.scans[0]
    assert "PACS study of Doe Jane, 2026-03-15, Anomaly scan" in \
        panel.parentWidget().parentWidget().windowTitle()
    assert panel.mark_text(document.path) == ""  # not sent yet

    window.pacs.act_send.trigger()
    _wait_sent(qtbot, window)
    node = str(PacsSettings.load(window.settings.store).node)
    assert panel.mark_text(document.path).startswith("sent 2")
    assert panel.mark_text(document.path).endswith(f"to {node}")
    assert _row(window, document.path).text().split("\n")[2].strip() \
        == panel.mark_text(document.path)
    record = SentLog(window.settings.data_dir.parent).latest(document.path)  # kept on disk
    assert record.node == node

    e = document.annotation.ellipse
    s.edit_ellipse(replace(e, a=e.a + 20), "Move the contour")
    assert panel.mark_text(document.path).startswith("changed since sent")
    document.undo_stack.undo()  # the result sent again: said so, without a send
    assert panel.mark_text(document.path).startswith("sent 2")
    document.undo_stack.redo()
    assert panel.mark_text(document.path).startswith("changed since sent")

    window.pacs.resend(document.path)
    _wait_sent(qtbot, window)
    assert panel.mark_text(document.path).startswith("sent 2")
    assert SentLog(window.settings.data_dir.parent).latest(document.path).digest \
        != record.digest

    s.open_paths([folder_scan])  # a folder opened: the study's list ends, not mixed
    assert s.scans == [folder_scan.resolve()]
    shutil.rmtree(window.pacs.cache)
