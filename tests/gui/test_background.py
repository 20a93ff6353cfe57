"""The app can always quit (issue 23 item 4): a background job stuck on a peer that never
answers is abandoned at quit, never waited on."""

import os
import subprocess
import sys
import textwrap

STUCK_AT_QUIT = textwrap.dedent("""
    import threading
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    from fetalview.gui.background import Job

    app = QApplication([])
    job = Job(lambda progress: threading.Event().wait())  # a peer that never answers
    job.start()
    QTimer.singleShot(100, app.quit)
    app.exec()
    del app
    print("quit")
""")


def test_a_job_stuck_at_quit_does_not_keep_the_app_from_ending():
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONUNBUFFERED": "1"}
    done = subprocess.run([sys.executable, "-c", STUCK_AT_QUIT], env=env, timeout=20,
                          capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == "quit", done.stderr
