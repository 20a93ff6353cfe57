"""Issue 20 walkthrough item 1 and issue 22 item 4: the BPD a report carries is the BPD shown.

With BPD set to outer-to-inner, Space confirmed the scan "unchanged" without the suggested BPD
on screen; the CSV left bpd_outer_inner_mm empty and the SR, VERIFIED/FINAL, carried the
outer-to-outer BPD without a convention. Switching the convention then re-opened every
confirmed scan's BPD as "suggested". Now the confirmation takes the BPD shown, in its
convention, and every output and a later convention change keep it.
"""

import sys
from pathlib import Path

import cv2
import numpy as np
import pydicom
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from fetalview.core.measure.biometry import OUTER_INNER, OUTER_OUTER
from fetalview.core.measure.geometry import fit_ellipse
from fetalview.core.record.calipers import saved_bpd_pair
from fetalview.core.record.sidecar_store import load_annotation
from fetalview.gui.dialogs import BPD_CHANGE_NOTE, SettingsDialog
from fetalview.core.results.tables import export_row
from fetalview.core.record.result import build_result
from fetalview.gui.pacs.features import results_of

from .conftest import SAMPLES, FakeSegmenter, open_and_wait

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from dicomcheck import dciodvfy_errors, num, sr_items  # noqa: E402

PATIENT = {"PatientName": "Test^Patient", "PatientID": "P1"}


class ReferenceModel(FakeSegmenter):
    """The fake model answering with the annotators' ellipse of 249_HC, where the skull's
    echoes give an outer-to-inner suggestion."""

    @staticmethod
    def expected(pixels):
        ring = cv2.imread(str(SAMPLES / "249_HC_Annotation.png"), cv2.IMREAD_GRAYSCALE)
        ys, xs = np.nonzero(ring)
        return fit_ellipse(np.stack([xs, ys], axis=1))


def _bpd_method(sr) -> str:
    [text] = [i.TextValue for path, i in sr_items(sr) if i.ValueType == "TEXT"
              and i.ConceptNameCodeSequence[0].CodeValue == "370129005" and "11820-8" in path]
    return text


def _reported(path, annotation, tmp_path):
    """The app CSV's row and the SR (written, read back) of a saved annotation."""
    annotation = annotation.__class__(**{**annotation.__dict__,
                                         "extra": {**annotation.extra, "patient": PATIENT}})
    sr_file, _ = results_of(path, annotation, "Clinic X").write(tmp_path, path.stem)
    return export_row(build_result(path.name, annotation, None)), pydicom.dcmread(sr_file), sr_file


def test_space_confirms_the_suggested_outer_inner_bpd_and_every_output_carries_it(
        qtbot, make_window, settings, scans, tmp_path):
    settings.bpd_convention = OUTER_INNER
    settings.operator = "Smith^Anna"
    window = make_window(ReferenceModel())
    document = open_and_wait(qtbot, window, scans / "249_HC.png")
    shown = document.result(OUTER_INNER).measurement
    assert "outer-inner, suggested" in window.panel.value_labels[1].text()
    messages = []
    window.session.info.connect(messages.append)
    window.view.setFocus()
    QTest.keyClick(window.view, Qt.Key_Space)
    saved = load_annotation(document.path, settings.data_dir)
    assert saved.confirmed is not None and saved.confirmed.bpd_convention == OUTER_INNER
    assert saved.confirmed.bpd == pytest.approx(shown.bpd)
    assert saved_bpd_pair(saved.extra)[1]  # the suggestion was confirmed with the scan
    assert any("confirmed unchanged" in m and f"BPD {shown.bpd:.1f} mm outer-inner" in m
               and "suggested BPD calipers confirmed with it" in m for m in messages)
    row, sr, sr_file = _reported(document.path, saved, tmp_path)
    assert row["bpd_outer_inner_mm"] == f"{shown.bpd:.2f}"
    assert (row["bpd_outer_inner_confirmed"], row["bpd_convention"]) == ("yes", OUTER_INNER)
    assert sr.VerificationFlag == "VERIFIED"
    assert num(sr, "11820-8")[0] == pytest.approx(shown.bpd, abs=0.01)
    assert _bpd_method(sr).startswith("outer-to-inner")
    assert "not confirmed" not in _bpd_method(sr)
    assert dciodvfy_errors(sr_file) == []
    assert f"BPD {shown.bpd_outer_outer:.1f} mm/OFD outer-outer" in window.panel.index_label.text()


def test_a_convention_change_keeps_confirmed_scans_as_confirmed(qtbot, make_window, settings,
                                                                 scans, tmp_path):
    settings.operator = "Smith^Anna"
    window = make_window(ReferenceModel())
    document = open_and_wait(qtbot, window, scans / "249_HC.png")
    outer = document.result(OUTER_OUTER).measurement.bpd
    assert window.session.sign_off("Smith^Anna")
    dialog = SettingsDialog(settings, window)
    assert any(BPD_CHANGE_NOTE in label.text() for label in dialog.findChildren(type(
        window.activity_label)))
    dialog.bpd.setCurrentIndex(dialog.bpd.findData(OUTER_INNER))
    dialog.accept()
    window.session.annotation_changed.emit()
    assert document.state == "confirmed"
    assert window.folder_panel.findChildren(type(window.activity_label)) is not None
    bpd_text = window.panel.value_labels[1].text()
    assert "suggested" not in bpd_text and "outer-outer, as confirmed" in bpd_text
    assert window.act_confirm_bpd.isEnabled()  # B confirms it in the new convention
    row, sr, _ = _reported(document.path, document.annotation, tmp_path)
    assert row["bpd_convention"] == OUTER_OUTER and row["review"] == "confirmed"
    assert num(sr, "11820-8")[0] == pytest.approx(outer, abs=0.01)
    assert _bpd_method(sr).startswith("outer-to-outer")
    window.view.setFocus()
    QTest.keyClick(window.view, Qt.Key_B)
    signoff = document.annotation.confirmed
    assert document.state == "confirmed" and signoff.bpd_convention == OUTER_INNER
    assert signoff.bpd == pytest.approx(document.result(OUTER_INNER).measurement.bpd)
    assert "as confirmed" not in window.panel.value_labels[1].text()
