"""Who signs on a shared workstation: the status bar's signer, always shown and switched in one
click; signed out after the idle time; never the login name offered; times said in local
time with their zone; one clinic name for reports and the DICOM report."""

import re

import pytest
from PySide6.QtCore import QPoint, QSettings, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialog, QDialogButtonBox, QLineEdit

from fetalview.gui.panels.signer import NOBODY
from fetalview.gui.settings import AppSettings

from .conftest import open_and_wait, open_folder

#: e.g. "2026-12-05 09:14 CET (UTC+01:00)": local time (Central European here) and its zone.
LOCAL_TIME = r"\d{4}-\d\d-\d\d \d\d:\d\d CES?T \(UTC\+0[12]:00\)"


@pytest.fixture
def names(monkeypatch):
    """The names the signer's dialog is answered with, in order; what it was asked."""
    answers, asked = [], []

    def ask_operator(parent, note):
        asked.append(note)
        return answers.pop(0) if answers else None

    monkeypatch.setattr("fetalview.gui.panels.signer.ask_operator", ask_operator)
    return answers, asked


def _click_main_part(button):
    """A click on the button's text, not its menu arrow."""
    QTest.mouseClick(button, Qt.LeftButton, pos=QPoint(8, button.height() // 2))


def test_the_signer_is_always_in_view_and_switched_in_one_click(qtbot, window, scans,
                                                                  settings, names):
    answers, asked = names
    signer = window.signer
    assert signer.isVisible() and signer.text() == NOBODY
    assert signer in window.statusBar().findChildren(type(signer))
    open_folder(qtbot, window, scans)
    qtbot.waitUntil(lambda: window.session.current.annotation.ellipse is not None)
    first = window.session.current
    answers.append("A. Jones")
    window.confirm_and_next()
    assert signer.text() == "Signing as A. Jones" and signer.isVisible()
    window.statusBar().showMessage("a long note " * 30)  # a message never hides it
    assert signer.isVisible() and signer.visibleRegion().boundingRect().width() == signer.width()

    answers.append("B. Smith")
    _click_main_part(signer)  # one click: the next sonographer
    assert signer.text() == "Signing as B. Smith" and len(asked) == 2
    qtbot.waitUntil(lambda: window.session.current.annotation.ellipse is not None)
    window.confirm_contour()
    assert first.annotation.confirmed.by == "A. Jones"
    assert window.session.current.annotation.confirmed.by == "B. Smith"

    _click_main_part(signer)  # cancelled: whoever was signed in stays
    assert settings.operator == "B. Smith"
    signer.menu().actions()[1].trigger()  # Sign out
    assert signer.text() == NOBODY and settings.operator == ""


def test_the_signer_is_not_kept_for_the_next_run(qtbot, make_window, fake, settings, names):
    settings.operator = "A. Jones"
    assert AppSettings(settings.store, settings.data_dir).operator == ""


def test_after_the_idle_time_the_next_confirmation_asks_who_signs(qtbot, window, scans,
                                                                    settings, names):
    answers, asked = names
    settings.idle_minutes = 15
    now = [1000.0]
    window.signer.clock = lambda: now[0]
    window.signer.last_input = now[0]
    settings.operator = "A. Jones"
    open_folder(qtbot, window, scans)
    qtbot.waitUntil(lambda: window.session.current.annotation.ellipse is not None)
    first = window.session.current
    now[0] += 14 * 60  # a pause within the idle time: the same person
    window.view.setFocus()
    QTest.keyClick(window.view, Qt.Key_Space)
    assert first.annotation.confirmed.by == "A. Jones" and asked == []

    qtbot.waitUntil(lambda: window.session.current.annotation.ellipse is not None)
    now[0] += 16 * 60  # the desk was left
    window.signer.check_idle()  # the periodic check: the status bar says nobody signs
    assert window.signer.text() == NOBODY
    assert "signed out after 15 minutes" in window.statusBar().currentMessage()
    answers.append("B. Smith")
    QTest.keyClick(window.view, Qt.Key_Return)
    assert len(asked) == 1 and window.session.current.annotation.confirmed.by == "B. Smith"


def test_a_key_after_the_idle_time_asks_before_it_confirms(qtbot, window, scans, settings,
                                                           names):
    """The key that ends the pause is itself the confirmation: it must not sign as the last
    person (the periodic check may not have run yet)."""
    answers, asked = names
    now = [0.0]
    window.signer.clock = lambda: now[0]
    window.signer.last_input = 0.0
    settings.operator = "A. Jones"
    settings.idle_minutes = 1
    document = open_and_wait(qtbot, window, scans / "050_HC.png")
    now[0] += 61
    answers.append("B. Smith")
    window.view.setFocus()
    QTest.keyClick(window.view, Qt.Key_Space)  # confirm and next
    assert len(asked) == 1 and document.annotation.confirmed.by == "B. Smith"


def test_no_login_name_is_offered_and_a_stray_space_signs_nobody(qtbot, window, scans,
                                                                   settings, monkeypatch):
    """The walkthrough: the name dialog offered the login name ("root"). Now it starts empty;
    Space (the confirm-and-next key) then Return accepts nothing; a typed name is kept."""
    monkeypatch.setattr("getpass.getuser", lambda: "root")
    document = open_and_wait(qtbot, window, scans / "050_HC.png")
    seen = []

    def answer(tries=200):
        dialog, focus = QApplication.activeModalWidget(), QApplication.focusWidget()
        if not isinstance(dialog, QDialog) or focus is None or focus.window() is not dialog:
            if tries:  # not shown and focused yet
                return QTimer.singleShot(10, lambda: answer(tries - 1))
            return dialog.reject() if dialog else None  # the test fails, rather than hangs
        field = dialog.findChild(QLineEdit)
        ok = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.Ok)
        seen.append((field.text(), ok.isEnabled()))
        QTest.keyClick(focus, Qt.Key_Space)
        QTest.keyClick(focus, Qt.Key_Return)
        seen.append((dialog.isVisible(), ok.isEnabled()))
        QTest.keyClicks(field, "A. Jones")
        QTest.keyClick(field, Qt.Key_Return)

    QTimer.singleShot(0, answer)
    assert window.confirm_contour()
    assert seen == [("", False), (True, False)]
    assert settings.operator == "A. Jones" and document.annotation.confirmed.by == "A. Jones"


def test_times_are_local_with_their_zone_in_the_panel_and_the_report(qtbot, window, scans,
                                                                      settings, paris,
                                                                      tmp_path):
    from test_report import page_text
    settings.operator = "A. Jones"
    document = open_and_wait(qtbot, window, scans / "050_HC.png")
    window.confirm_contour()
    panel = window.panel.state_label.text()
    assert re.search(f"by A. Jones, {LOCAL_TIME}", panel), panel
    settings.clinic_name = "St Mary's Fetal Medicine"
    assert window.clinic.export_report(tmp_path / "r.pdf")
    text = page_text(tmp_path / "r.pdf")
    assert re.search(f"confirmed unchanged by A. Jones, {LOCAL_TIME}", text), text
    assert re.search(f"confirmed by A. Jones on {LOCAL_TIME}", text), text
    assert "to be confirmed by a clinician" not in text
    assert text.startswith("St Mary's Fetal Medicine")
    assert document.annotation.confirmed.at.endswith("+00:00")  # stored as UTC, as before


def test_one_clinic_name_for_reports_and_the_dicom_report(qtbot, window, settings, tmp_path):
    from fetalview.gui.dialogs import SettingsDialog
    from fetalview.gui.pacs.dialogs import PacsSettings
    old = QSettings(str(tmp_path / "old.ini"), QSettings.IniFormat)
    old.setValue("pacs/organization", "Clinic X")  # where the PACS dialog kept it
    assert AppSettings(old, tmp_path).clinic_name == "Clinic X"

    dialog = SettingsDialog(settings, window)
    qtbot.addWidget(dialog)
    dialog.clinic.setText("  St Mary's   Fetal Medicine ")
    dialog.idle.setValue(5)
    dialog.accept()
    assert settings.clinic_name == "St Mary's Fetal Medicine" and settings.idle_minutes == 5
    assert PacsSettings.load(settings.store).organization == "St Mary's Fetal Medicine"
    PacsSettings("ORTHANC", "localhost", 4242, organization="Clinic Y").save(settings.store)
    assert settings.clinic_name == "Clinic Y"
