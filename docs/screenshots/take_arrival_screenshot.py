"""Screenshot of a study measured on arrival: a real Orthanc with fetalview's plugin receives a
calibrated ultrasound image, measures it and stores the automatic SR; the app opens the study
from that Orthanc and shows the plugin's contour without running the model.

    xvfb-run -a -s "-screen 0 1366x768x24" python3 docs/screenshots/take_arrival_screenshot.py

Starts Orthanc (with the Python plugin, as tests/test_orthanc_plugin.py does) on a free
loopback port with temporary storage; writes docs/screenshots/8-measured-on-arrival.png.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import cv2
import pydicom
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(Path(__file__).resolve().parent)]

from dicomfiles import make_dicom, region  # noqa: E402
from orthancserver import free_port, running_orthanc  # noqa: E402
from take_screenshots import OUT, TASKBAR, save, settle, wait_for  # noqa: E402

from fetalview.bundled import sample_scans_dir  # noqa: E402
from fetalview.core.pacs.client import store  # noqa: E402
from fetalview.gui.main_window import MainWindow  # noqa: E402
from fetalview.gui.pacs.dialogs import PacsSettings  # noqa: E402
from fetalview.gui.settings import AppSettings  # noqa: E402
from fetalview.gui.theme import apply_dark_theme  # noqa: E402
from fetalview.orthanc.configuration import orthanc_config, python_plugin  # noqa: E402


class NoModel:
    """Stands in for the model: a study measured on arrival must open without it."""

    device_label, model_version, fallback_reason = "CPU", "none", None

    def segment(self, *args, **kwargs):
        raise RuntimeError("the model ran on a study measured on arrival")


def srs_in(http_port: int, patient: str) -> list:
    query = {"Level": "Instance", "Query": {"PatientID": patient, "Modality": "SR"}}
    request = urllib.request.Request(f"http://127.0.0.1:{http_port}/tools/find",
                                     json.dumps(query).encode())
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def main() -> int:
    plugin = python_plugin()
    if plugin is None:
        sys.exit("Orthanc's Python plugin is not installed (Debian package orthanc-python)")
    app = QApplication(sys.argv[:1])
    apply_dark_theme(app)
    screen = app.primaryScreen().geometry()
    work = Path(tempfile.mkdtemp(prefix="fetalview-arrival-"))
    config = orthanc_config(work / "orthanc" / "db", plugin=plugin)
    http = free_port()
    extra = {key: config[key] for key in ("Plugins", "PythonScript", "Fetalview",
                                          "OverwriteInstances")}
    with running_orthanc(work / "orthanc", extra | {"HttpServerEnabled": True,
                                                    "HttpPort": http}) as node:
        pixels = cv2.imread(str(sample_scans_dir() / "249_HC.png"), cv2.IMREAD_GRAYSCALE)
        rows, cols = pixels.shape
        path = make_dicom(work / "arrived.dcm", pixels,
                          regions=[region(0, 0, cols - 1, rows - 1, 0.0125)])
        ds = pydicom.dcmread(path)
        ds.PatientName, ds.PatientID, ds.StudyDescription = "Roe^Mary", "MRN-2044", "OB 2nd tri"
        ds.save_as(path)
        deadline = time.monotonic() + 180
        while "fetalview: model " not in (work / "orthanc" / "orthanc.log").read_text():
            if time.monotonic() > deadline:
                sys.exit("the plugin did not load its model")
            time.sleep(0.5)
        store(node, [path])  # as a scanner sends it
        while not srs_in(http, ds.PatientID):
            if time.monotonic() > deadline:
                sys.exit("no SR was made on arrival")
            time.sleep(0.5)
        settings = AppSettings(QSettings(str(work / "settings.ini"), QSettings.IniFormat),
                               work / "appdata")
        settings.operator = "A. Sonographer"
        PacsSettings(node.ae_title, node.host, node.port, organization="St Mary's").save(
            settings.store)
        window = MainWindow(settings, lambda device: NoModel(), confirm=lambda q: True)
        window.setGeometry(0, 0, screen.width(), screen.height() - TASKBAR)
        window.show()
        settle(500)
        window.pacs.open_from_pacs()
        dialog = window.pacs.open_dialog
        dialog.date.setText(ds.StudyDate)
        dialog.patient_id.setText(ds.PatientID)
        dialog.search()
        wait_for(lambda: dialog.table.rowCount() == 1 and dialog.open_button.isEnabled(), 20000)
        dialog.retrieve()
        wait_for(lambda: window.session.current is not None
                 and window.session.current.path.stem == ds.SOPInstanceUID, 30000)
        settle(800)
        save(window, OUT / "8-measured-on-arrival.png")
        window.close()
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
