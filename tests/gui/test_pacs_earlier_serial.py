"""Serial scans from the PACS (issue 19 item 3, issue 18 item 2), against a real Orthanc: today's
study opened from the PACS brings the patient's earlier scans onto the chart, read from the
reports of their other studies there (only the reports are fetched, never those studies'
images), as read-only points; the serial line says how many came from the PACS, and a head
falling across centile lines is the finding.

The reports are built as the Orthanc plugin builds them on arrival (the batch's
``batch_result`` and ``make_results``)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pydicom
import pytest
from PySide6.QtCore import QSettings
from dicomfiles import make_dicom
from orthancserver import running_orthanc

from fetalview.core.batch import batch_result
from fetalview.core.io.scans import load_scan
from fetalview.core.measure.geometry import Ellipse
from fetalview.core.measure.growth import GestationalAge, hc_centile, intergrowth_hc_mean_sd
from fetalview.core.model.segmentation import Segmentation
from fetalview.core.pacs import earlier
from fetalview.core.pacs.client import store
from fetalview.core.pacs.retrieve import get_study
from fetalview.core.results.dicom_results import make_results
from fetalview.gui.pacs.dialogs import PacsSettings
from fetalview.gui.settings import AppSettings

from .conftest import FakeSegmenter

PATIENT = "SERIAL-PACS-7"
EDD = date(2026, 10, 8)
HEAD = Ellipse(100.0, 80.0, 120.0, 96.0, 0.0)


def _segmentation(scan) -> Segmentation:
    return Segmentation(None, HEAD.points(64), HEAD, 0.99, "plugin-model-1",
                        pixel_size=scan.pixel_size)


def _study(tmp_path, orthanc, weeks: int, z: float) -> pydicom.Dataset:
    """A study of ``PATIENT`` at ``weeks`` (by ``EDD``) in the PACS: its image and the
    plugin's report (and annotated image) putting the head at z-score ``z``."""
    name = f"w{weeks}"
    path = make_dicom(tmp_path / f"{name}.dcm", np.full((160, 200), 60, np.uint8),
                      pixel_spacing=[1.0, 1.0])
    unit = batch_result(name, load_scan(path), _segmentation(load_scan(path))).measurement.hc
    mean, sd = intergrowth_hc_mean_sd(GestationalAge(weeks * 7))
    spacing = (mean + z * sd) / unit
    ds = pydicom.dcmread(path)
    ds.PixelSpacing = [spacing, spacing]
    ds.PatientID = PATIENT
    ds.StudyDate = (EDD - timedelta(days=280 - weeks * 7)).strftime("%Y%m%d")
    ds.save_as(path)
    scan = load_scan(path)
    results = make_results(scan, batch_result(path.name, scan, _segmentation(scan)))
    (tmp_path / name).mkdir()
    store(orthanc, [path, *results.write(tmp_path / name, name)])
    return ds


@pytest.fixture
def orthanc(tmp_path):
    with running_orthanc(tmp_path / "orthanc") as node:
        yield node


def test_earlier_studies_in_the_pacs_are_on_todays_chart(qtbot, make_window, orthanc,
                                                          tmp_path, monkeypatch):
    fetched = []  # what each earlier study's retrieval received: its report alone

    def counted(*args, **kwargs):
        got = get_study(*args, **kwargs)
        fetched.append(got.received)
        return got
    monkeypatch.setattr(earlier, "get_study", counted)
    _study(tmp_path, orthanc, 24, 0.2533)  # 60th centile
    _study(tmp_path, orthanc, 30, -0.2533)  # 40th
    today = _study(tmp_path, orthanc, 34, -1.645)  # 5th
    settings = AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat),
                           data_dir=tmp_path / "appdata")
    PacsSettings(orthanc.ae_title, orthanc.host, orthanc.port).save(settings.store)
    model = FakeSegmenter()
    window = make_window(model, settings=settings)
    window.session.patients.book.set_dating(PATIENT, {"method": "edd", "edd": EDD.isoformat()})

    window.pacs.open_from_pacs()
    dialog = window.pacs.open_dialog
    dialog.patient_id.setText(PATIENT)
    dialog.date.setText(today.StudyDate)
    dialog.search()
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 1 and dialog.open_button.isEnabled(),
                    timeout=10000)
    dialog.retrieve()
    qtbot.waitUntil(lambda: window.session.current is not None
                    and window.session.current.path.stem == today.SOPInstanceUID, timeout=30000)
    qtbot.waitUntil(lambda: len(window.clinic.growth.points) == 3, timeout=10000)

    points = window.clinic.growth.points
    assert [p.ga_days for p in points] == [168, 210, 238]
    assert [p.exam_date for p in points] == sorted(p.exam_date for p in points)
    assert [p.latest for p in points] == [False, False, True]
    assert round(hc_centile(points[0].value_mm, GestationalAge(168)).percentile) == 60
    assert round(hc_centile(points[2].value_mm, GestationalAge(238)).percentile) == 5
    record = window.session.current.result()
    assert "from the 60th centile" in record.serial_finding
    assert "not a diagnosis" in record.serial_finding
    panel_text = window.clinic.pregnancy.serial_label.text()
    assert ("Serial scans: 3 HC on the chart (2 of them from earlier studies in the PACS)"
            in panel_text)
    assert record.serial_finding in window.clinic.pregnancy.result.text().split("\n")
    # read-only points: the earlier studies are not in the list, their images not retrieved
    assert window.session.scans == [window.session.current.path]
    cache = window.pacs.cache
    assert [p.name for p in cache.iterdir() if not p.name.startswith(".")] == [
        today.StudyInstanceUID]
    assert fetched == [1, 1]  # each earlier study holds an image, an SC and an SR
    assert model.calls == 0
