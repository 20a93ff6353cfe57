"""PySide6 6.12.0 drops a reference to None on each void call; on Python < 3.12 that aborts the
app after a few hundred handle drags. pyproject.toml excludes that release; this test fails on
any installed PySide6 with the same bug, before a clinician meets it."""

import os
import subprocess
import sys
from pathlib import Path

CHILD = """
from PySide6.QtWidgets import QApplication, QLabel
app = QApplication([])
label = QLabel()
for i in range(100000):
    label.setText("HC 180.0 mm")
    app.processEvents()
print("survived")
"""


def test_many_qt_calls_do_not_wear_none_down():
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[2]),
                                          os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                         env=env, timeout=120)
    assert run.returncode == 0 and "survived" in run.stdout, run.stderr[-2000:]
