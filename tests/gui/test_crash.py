"""Killing the app right after an edit loses nothing that was on screen.

A real app process (offscreen) opens a scan, gets the model's contour, takes one handle drag,
reports what it shows, and is killed with SIGKILL: no close event, no atexit, no flush. The
scan reopened in a new window must show the same contour, edited, with the same pixel size.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from fetalview.core.measure.geometry import Ellipse

from .conftest import open_folder

CHILD = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from PySide6.QtCore import QEventLoop, QPointF, QSettings
    from PySide6.QtWidgets import QApplication
    from fetalview.core.measure.geometry import Ellipse
    from fetalview.core.model.segmentation import Segmentation
    from fetalview.gui.main_window import MainWindow
    from fetalview.gui.settings import AppSettings

    class Fake:
        device_label, model_version, fallback_reason = "CPU", "fake-crash", None
        def segment(self, pixels, pixel_size=None, regions=()):
            h, w = pixels.shape
            e = Ellipse(w / 2, h / 2, w / 4, w / 5, 10.0)
            return Segmentation(None, e.points(64), e, 0.95, self.model_version)

    scan, ini, appdata = map(Path, sys.argv[1:4])
    app = QApplication([])
    window = MainWindow(AppSettings(QSettings(str(ini), QSettings.IniFormat), appdata),
                        lambda device: Fake())
    window.show()
    window.session.open_paths([scan])
    document = window.session.current
    if document.annotation.ellipse is None:  # results arrive only inside an event loop
        loop = QEventLoop()
        document.changed.connect(loop.quit)
        loop.exec()
    item = window.view.ellipse_item
    start = item.handle_scene_pos("a+")
    item.begin_drag("a+", start)
    item.drag_to(start + QPointF(30, 5))
    item.end_drag()
    a = document.annotation
    e = a.ellipse
    print(json.dumps({"ellipse": [e.cx, e.cy, e.a, e.b, e.angle_deg], "edited": a.edited,
                      "mm": a.pixel_size.mm_per_pixel, "state": document.state}), flush=True)
    app.exec()  # keeps running with the edit on screen until it is killed
""")


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_killed_right_after_an_edit_loses_nothing(qtbot, make_window, fake, scans, settings,
                                                  tmp_path):
    scan = scans / "050_HC.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[2]),
                                          os.environ.get("PYTHONPATH", "")])}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(scan),
                              str(tmp_path / "child.ini"), str(settings.data_dir)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = child.stdout.readline()
        assert line, child.stderr.read() if child.poll() is not None else "no answer"
    finally:
        child.kill()  # SIGKILL: nothing gets a chance to save on the way out
        child.wait(10)
    shown = json.loads(line)
    assert shown["edited"] and shown["state"] == "edited"

    window = make_window(fake)
    open_folder(qtbot, window, scans)
    restored = window.session.current.annotation
    assert restored.ellipse == Ellipse(*shown["ellipse"])
    assert restored.edited and restored.model_version == "fake-crash"
    assert restored.pixel_size.mm_per_pixel == shown["mm"]
    assert window.folder_panel.state_text(scan) == "edited"
    qtbot.waitUntil(lambda: not window.session.queue.running)
    # the one model run is the folder's other scan, measured in the background
    assert window.session.states[scans / "249_HC.png"] == "auto"
    assert fake.calls == 1, "the restored contour is the starting point, not a new model run"
    assert window.session.current.annotation == restored
    assert not list(scans.glob(".*.tmp"))
