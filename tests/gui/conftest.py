"""Fixtures for the app's tests: settings and app data under tmp_path, a shared or fake model.

Most tests use ``FakeSegmenter`` (instant, deterministic, can be held back or made to fail);
the tests about the real worker use the session's real Segmenter, loaded once.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, QSettings, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from fetalview.core.measure.geometry import Ellipse
from fetalview.core.model.segmentation import Segmentation
from fetalview.gui.files import DISCARD
from fetalview.gui.main_window import MainWindow
from fetalview.gui.settings import AppSettings

SAMPLES = Path(__file__).resolve().parents[2] / "resources" / "samples"


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/gui/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.gui)


class FakeSegmenter:
    """Stands in for the network: an ellipse derived from the scan's size, so each scan gets
    a different, predictable answer. ``gate`` holds results back; ``error`` makes it fail."""

    device_label = "CPU"
    model_version = "fake-1"

    def __init__(self, confidence: float = 0.95, find_head: bool = True):
        self.fallback_reason: str | None = None
        self.confidence = confidence
        self.find_head = find_head
        self.gate: threading.Event | None = None
        self.error: Exception | None = None
        self.calls = 0
        self.regions: tuple = ()  # the DICOM regions of the last request

    @staticmethod
    def expected(pixels) -> Ellipse:
        h, w = pixels.shape
        return Ellipse(w / 2, h / 2, w / 4, w / 5, 10.0)  # a head's shape: cephalic index 80

    def segment(self, pixels, pixel_size=None, regions=()) -> Segmentation:
        self.calls += 1
        self.regions = regions
        if self.gate is not None:
            self.gate.wait(10)
        if self.error is not None:
            raise self.error
        if not self.find_head:
            return Segmentation(None, None, None, 0.0, self.model_version)
        e = self.expected(pixels)
        return Segmentation(None, e.points(64), e, self.confidence, self.model_version)


def _not_asked_at_teardown(window: MainWindow) -> None:
    """Closing a window that holds unsaved work asks (a modal box that would wait for ever at
    the test's end): tests discard; those about that question (test_stale.py) ask again."""
    window.ask_unsaved = lambda question: DISCARD


@pytest.fixture
def scans(tmp_path) -> Path:
    """Two real HC18 scans and their pixel-size CSV in a writable folder."""
    folder = tmp_path / "scans"
    folder.mkdir()
    for name in ("050_HC.png", "249_HC.png", "samples_pixel_size_and_HC.csv"):
        shutil.copy(SAMPLES / name, folder / name)
    return folder


@pytest.fixture
def settings(tmp_path) -> AppSettings:
    return AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat),
                       data_dir=tmp_path / "appdata")


@pytest.fixture
def fake() -> FakeSegmenter:
    return FakeSegmenter()


@pytest.fixture
def answers() -> list[bool]:
    """What the next confirmation questions are answered with (default: yes)."""
    return []


@pytest.fixture
def make_window(qtbot, settings, answers):
    def make(segmenter, **kwargs) -> MainWindow:
        window = MainWindow(kwargs.get("settings", settings), lambda device: segmenter,
                            confirm=lambda question: answers.pop(0) if answers else True)
        _not_asked_at_teardown(window)
        qtbot.addWidget(window)
        window.show()
        return window
    return make


@pytest.fixture
def run_app(qtbot, monkeypatch, settings, fake):
    """``fetalview ARGS`` as started from the command line (``gui.app.run_app``), with the test's
    settings and fake model, the event loop left to the test; returns the window it made."""
    import sys

    import fetalview.gui.app as app_module
    windows = []

    def window_for_test(_settings):
        windows.append(MainWindow(settings, lambda device: fake))
        _not_asked_at_teardown(windows[-1])
        qtbot.addWidget(windows[-1])
        return windows[-1]

    monkeypatch.setattr(app_module, "MainWindow", window_for_test)
    monkeypatch.setattr(app_module, "AppSettings", lambda: settings)
    monkeypatch.setattr(QApplication, "exec", lambda self: 0)
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # run_app installs its own
    monkeypatch.setattr(app_module, "quit_on_signals", lambda app: None)  # pytest's Ctrl+C

    def run(argv: list[str]) -> MainWindow:
        assert app_module.run_app(argv) == 0
        window, = windows
        return window
    return run


@pytest.fixture
def window(make_window, fake) -> MainWindow:
    return make_window(fake)


def open_and_wait(qtbot, window: MainWindow, path: Path, timeout: int = 20000):
    """Open a scan and wait until the worker's result is on screen."""
    window.session.open_paths([path])
    qtbot.waitUntil(lambda: window.session.current is not None
                    and window.session.current.annotation.ellipse is not None, timeout=timeout)
    return window.session.current


def mouse(view, kind, pos: QPoint, buttons=Qt.LeftButton) -> None:
    """Send one mouse event to the scan view (QTest cannot hold a button during a move)."""
    button = Qt.NoButton if kind == QEvent.MouseMove else Qt.LeftButton
    event = QMouseEvent(kind, QPointF(pos), QPointF(view.viewport().mapToGlobal(pos)), button,
                        buttons, Qt.NoModifier)
    QApplication.sendEvent(view.viewport(), event)


def drag(view, start: QPoint, end: QPoint, steps: int = 4, release: bool = True) -> None:
    mouse(view, QEvent.MouseButtonPress, start)
    for i in range(1, steps + 1):
        mouse(view, QEvent.MouseMove, start + (end - start) * (i / steps))
    if release:
        mouse(view, QEvent.MouseButtonRelease, end, Qt.NoButton)


def open_folder(qtbot, window: MainWindow, folder: Path, timeout: int = 20000) -> None:
    """Open a folder and wait until its listing (made on the worker thread) is in the list."""
    with qtbot.waitSignal(window.session.listed, timeout=timeout):
        window.session.open_paths([folder])
