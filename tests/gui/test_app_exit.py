"""However the app ends, its worker threads are stopped and joined first.

Qt aborts a process that destroys a running QThread ("QThread: Destroyed while thread ... is
still running"); the abort loses what the process had not yet written, so these children run
without PYTHONUNBUFFERED, as the README's command does in a plain shell.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: ``fetalview`` with a model that is still loading (its thread busy) when the app is ended.
CHILD = """
import os, signal, sys, time
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication
import fetalview.gui.app as app_module
from fetalview.gui.settings import AppSettings
from tests.gui.conftest import FakeSegmenter

how, ini, data = sys.argv[1:]
app = QApplication([])
settings = AppSettings(QSettings(ini, QSettings.IniFormat), data)
make = app_module.MainWindow
app_module.AppSettings = lambda: settings

def window(settings):
    window = make(settings, lambda device: (time.sleep(1.5), FakeSegmenter())[1])
    window.may_close = lambda: True
    if how == "raise":
        window.show_on_screen = lambda: 1 / 0
    return window

app_module.MainWindow = window
ends = {"close": lambda: app.activeWindow().close() if app.activeWindow() else
        app.topLevelWidgets()[0].close(),
        "quit": app.quit,
        "sigint": lambda: os.kill(os.getpid(), signal.SIGINT),
        "sigterm": lambda: os.kill(os.getpid(), signal.SIGTERM)}
if how in ends:
    QTimer.singleShot(300, ends[how])
print("started")
print("ended with", app_module.run_app([]))
"""


def run_child(code: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    env["QT_QPA_PLATFORM"] = "offscreen"
    return subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True,
                          text=True, timeout=120, cwd=ROOT)


@pytest.mark.parametrize("how", ["close", "quit", "sigint", "sigterm"])
def test_every_way_of_ending_the_app_stops_its_threads_first(tmp_path, how):
    out = run_child(CHILD, how, str(tmp_path / "s.ini"), str(tmp_path / "data"))
    assert "QThread: Destroyed" not in out.stderr
    assert (out.returncode, out.stdout) == (0, "started\nended with 0\n"), out.stderr


def test_an_exception_that_ends_the_app_still_stops_its_threads_first(tmp_path):
    out = run_child(CHILD, "raise", str(tmp_path / "s.ini"), str(tmp_path / "data"))
    assert "QThread: Destroyed" not in out.stderr
    assert "ZeroDivisionError" in out.stderr
    assert (out.returncode, out.stdout) == (1, "started\n"), out.stderr
