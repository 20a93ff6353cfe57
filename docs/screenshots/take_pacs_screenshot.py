"""Screenshot of File > Open from PACS against a real Orthanc holding three ultrasound studies.

    xvfb-run -a -s "-screen 0 1366x768x24" python3 docs/screenshots/take_pacs_screenshot.py

Starts Orthanc on a free loopback port with temporary storage (as the tests do), stores the
bundled sample scans as DICOM with made-up patients, and the report and image of one of them.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import cv2
import pydicom
from PIL import Image
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from dicomfiles import make_dicom  # noqa: E402
from orthancserver import running_orthanc  # noqa: E402
from take_screenshots import settle, wait_for  # noqa: E402

from fetalview.core.pacs.client import store  # noqa: E402
from fetalview.gui.main_window import MainWindow  # noqa: E402
from fetalview.gui.pacs.dialogs import OpenFromPacsDialog, PacsSettings  # noqa: E402
from fetalview.gui.settings import AppSettings  # noqa: E402
from fetalview.gui.theme import apply_dark_theme  # noqa: E402

OUT = Path(__file__).resolve().parent
PATIENTS = [("050_HC.png", "Garcia^Lucia", "MRN-20431", "20260312", 0.06),
            ("249_HC.png", "Okafor^Ada", "MRN-20517", "20260315", 0.10),
            ("673_HC.png", "Lindqvist^Emma", "MRN-20602", "20260318", 0.30)]


def main() -> int:
    app = QApplication(sys.argv[:1])
    apply_dark_theme(app)
    work = Path(tempfile.mkdtemp(prefix="fetalview-pacs-shot-"))
    with running_orthanc(work / "orthanc") as node:
        for name, patient, pid, date, mm in PATIENTS:
            pixels = cv2.imread(str(ROOT / "resources" / "samples" / name), cv2.IMREAD_GRAYSCALE)
            path = make_dicom(work / f"{pid}.dcm", pixels, pixel_spacing=[mm, mm])
            ds = pydicom.dcmread(path)
            ds.PatientName, ds.PatientID, ds.StudyDate = patient, pid, date
            ds.StudyDescription = "OB US 2nd trimester"
            ds.save_as(path)
            store(node, [path])
        settings = AppSettings(QSettings(str(work / "settings.ini"), QSettings.IniFormat),
                               data_dir=work / "appdata" / "sidecars")
        pacs = PacsSettings(node.ae_title, node.host, node.port, organization="Clinic")
        pacs.save(settings.store)
        window = MainWindow(settings)
        window.show()
        dialog = OpenFromPacsDialog(pacs, window.pacs.cache, window)
        dialog.resize(860, 360)
        dialog.show()
        dialog.date.setText("20260301-20260331")
        dialog.search()
        wait_for(lambda: dialog.table.rowCount() == len(PATIENTS))
        dialog.table.selectRow(1)
        settle(500)
        path = OUT / "7-open-from-pacs.png"
        dialog.grab().save(str(path))
        Image.open(path).convert("RGB").quantize(colors=256, dither=Image.Dither.NONE) \
            .save(path, optimize=True)
        print(f"wrote {path}")
        window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
