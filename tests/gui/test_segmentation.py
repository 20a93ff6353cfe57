"""The worker thread: results arrive, the GUI keeps answering, stale results are dropped."""

import gc
import threading
import time
from dataclasses import replace

from PySide6.QtCore import QTimer
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest

from fetalview.core.record.sidecar_store import load_annotation

from .conftest import FakeSegmenter, open_and_wait, open_folder


def test_open_a_scan_and_get_the_real_models_result(qtbot, make_window, segmenter, scans,
                                                    settings):
    window = make_window(segmenter)
    document = open_and_wait(qtbot, window, scans / "050_HC.png")
    a = document.annotation
    assert a.ellipse == a.auto_ellipse and not a.edited
    assert a.model_version == segmenter.model_version and 0 < a.confidence <= 1
    assert a.pixel_size.source == "CSV samples_pixel_size_and_HC.csv"
    hc = window.panel.value_labels[0].text()
    assert hc.startswith("HC") and hc.endswith("mm")
    assert abs(float(hc.split()[1]) - 67.5) < 4  # the HC18 reference for this scan: 67.5 mm
    assert window.device_label.text() == f"Model on {segmenter.device_label}"
    assert window.folder_panel.state_text(scans / "050_HC.png") == "auto"
    saved = load_annotation(scans / "050_HC.png", settings.data_dir)
    assert saved.ellipse == a.ellipse and saved.model_version == a.model_version


def test_event_loop_keeps_answering_during_segmentation(qtbot, make_window, segmenter, scans):
    window = make_window(segmenter)
    open_and_wait(qtbot, window, scans / "050_HC.png")  # the model is loaded from here on
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()
    gc.disable()  # a full collection of the whole test run's heap pauses 0.1-0.5 s by itself
    try:
        # One pass of the model can take under 0.1 s on a quiet machine: the model is run again
        # until the worker has been busy long enough for a blocked GUI thread to show.
        started = time.perf_counter()
        while time.perf_counter() - started < 0.5:
            with qtbot.waitSignal(window.service.returned, timeout=20000):
                window.session.segment()
        finished = time.perf_counter()
    finally:
        gc.enable()
        timer.stop()
    gaps = [b - a for a, b in zip([started] + ticks, ticks + [finished])]
    assert max(gaps) <= 0.050, f"the GUI stalled for {max(gaps) * 1000:.0f} ms"


def test_result_for_a_scan_the_user_left_is_not_applied(qtbot, window, fake, scans):
    fake.gate = threading.Event()
    open_folder(qtbot, window, scans)  # opens 050_HC.png; its segmentation is held back
    qtbot.waitUntil(lambda: fake.calls == 1)
    window.session.step(1)  # the user moves on to 249_HC.png before the result comes
    current = window.session.current
    assert current.path.name == "249_HC.png"
    fake.gate.set()
    qtbot.waitUntil(lambda: current.annotation.ellipse is not None)
    assert current.annotation.ellipse == FakeSegmenter.expected(current.scan.pixels)
    first = window.session.documents[scans / "050_HC.png"]
    assert first.annotation.ellipse is None
    assert window.folder_panel.state_text(scans / "050_HC.png") == "not measured"


def test_failure_is_reported_and_manual_measuring_still_works(qtbot, window, fake, scans):
    fake.error = RuntimeError("out of memory")
    window.session.open_paths([scans / "050_HC.png"])
    qtbot.waitUntil(lambda: "Segmentation failed" in window.message_bar.text)
    assert "out of memory" in window.message_bar.text and "by hand" in window.message_bar.text
    window.session.draw_from_clicks([(200, 250), (500, 250), (350, 380)])
    a = window.session.current.annotation
    assert a.edited and a.ellipse.a == 150 and a.ellipse.b == 130
    assert window.panel.value_labels[0].text().endswith("mm")


def test_no_head_found_says_so(qtbot, make_window, scans):
    window = make_window(FakeSegmenter(find_head=False))
    window.session.open_paths([scans / "050_HC.png"])
    qtbot.waitUntil(lambda: "found no head" in window.message_bar.text)
    assert window.session.current.annotation.ellipse is None


def test_cuda_fallback_is_shown(qtbot, make_window, scans):
    fake = FakeSegmenter()
    fake.fallback_reason = "CUDA failed (no kernel image); using the CPU"
    window = make_window(fake)
    open_and_wait(qtbot, window, scans / "050_HC.png")
    assert window.device_label.text() == "Model on CPU (GPU failed)"
    assert "no kernel image" in window.message_bar.text


def test_explicit_cuda_without_a_gpu_falls_back_to_cpu(monkeypatch):
    import fetalview.core.model.segmenter as segmenter_module
    import fetalview.gui.worker as worker
    made = []

    class Recorder:
        def __init__(self, device, threads=None):
            if device == "cuda":
                raise RuntimeError("CUDA was asked for but no usable CUDA device is available")
            made.append(device)
            self.fallback_reason = None

    monkeypatch.setattr(segmenter_module, "Segmenter", Recorder)  # imported in the worker
    segmenter = worker.default_factory("cuda")
    assert made == ["cpu"] and "no usable CUDA device" in segmenter.fallback_reason


def test_low_confidence_is_flagged(qtbot, make_window, scans):
    window = make_window(FakeSegmenter(confidence=0.5))
    open_and_wait(qtbot, window, scans / "050_HC.png")
    assert window.folder_panel.state_text(scans / "050_HC.png") == "low confidence"
    assert "review" in window.panel.state_label.text()


def test_rerun_on_an_edited_scan_asks_and_is_undoable(qtbot, window, fake, scans, answers):
    document = open_and_wait(qtbot, window, scans / "050_HC.png")
    window.session.draw_from_clicks([(200, 250), (500, 250), (350, 380)])
    edited = document.annotation
    answers.append(False)
    window.session.segment()
    assert not window.session.segmenting and document.annotation == edited
    answers.append(True)
    with qtbot.waitSignal(window.session.annotation_changed, timeout=5000):
        window.session.segment()
    assert not document.annotation.edited
    assert document.annotation.ellipse == FakeSegmenter.expected(document.scan.pixels)
    window.act_undo.trigger()
    assert document.annotation == edited


def test_settings_dialog_stores_the_device(qtbot, window, settings):
    from fetalview.gui.dialogs import SettingsDialog
    dialog = SettingsDialog(settings, window)
    qtbot.addWidget(dialog)
    dialog.device.setCurrentIndex(dialog.device.findData("cpu"))
    dialog.on_open.setChecked(False)
    dialog.accept()
    assert settings.device == "cpu" and settings.segment_on_open is False


def test_model_loads_once_lazily_off_the_gui_thread(qtbot, fake, settings, scans):
    from fetalview.gui.main_window import MainWindow
    made = []

    def factory(device):
        made.append((device, threading.current_thread() is threading.main_thread()))
        return fake

    settings.segment_on_open = False
    window = MainWindow(settings, factory)
    qtbot.addWidget(window)
    open_folder(qtbot, window, scans)
    assert made == [], "opening a scan must not load the model"
    for _ in range(2):
        window.act_segment.trigger()
        qtbot.waitUntil(lambda: not window.service.busy)
        window.session.step(1)
    assert made == [("auto", False)] and fake.calls == 2


def test_the_app_starts_without_importing_torch():
    """torch takes most of a second or two to import: the window must not wait for it."""
    import os
    import subprocess
    import sys
    code = ("import sys, fetalview.gui.app, fetalview.gui.main_window; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert out.stdout.strip() == "False", out.stderr[-2000:]


def test_preload_loads_the_model_in_the_worker_before_the_first_scan(qtbot, fake, settings):
    from fetalview.gui.main_window import MainWindow
    made = []

    def factory(device):
        made.append(threading.current_thread() is threading.main_thread())
        return fake

    window = MainWindow(settings, factory)
    qtbot.addWidget(window)
    window.service.preload(settings.device)
    qtbot.waitUntil(lambda: made == [False])


def test_the_status_bar_says_ready_once_the_preload_is_done(qtbot, fake, settings):
    from fetalview.gui.main_window import MainWindow
    gate = threading.Event()

    def factory(device):
        gate.wait(10)
        return fake

    window = MainWindow(settings, factory)
    qtbot.addWidget(window)
    window.service.preload(settings.device)
    qtbot.waitUntil(lambda: window.activity_label.text() == "Loading the model...")
    gate.set()
    qtbot.waitUntil(lambda: window.activity_label.text() == "Ready")
    assert window.device_label.text() == "Model on CPU"


def test_undo_on_a_freshly_measured_scan_keeps_the_models_contour(qtbot, window, scans):
    """Issue 22 item 5 and issue 20 walkthrough item 9: Undo was enabled on an untouched scan
    and deleted the model's contour; the model's result starts the history instead."""
    document = open_and_wait(qtbot, window, scans / "050_HC.png")
    measured = document.annotation
    assert not window.act_undo.isEnabled() and document.undo_stack.count() == 0
    window.view.setFocus()
    QTest.keySequence(window, QKeySequence.Undo)
    assert document.annotation == measured and window.view.ellipse_item.ellipse is not None
    window.session.edit_ellipse(replace(measured.ellipse, a=measured.ellipse.a + 5), "Resize")
    assert window.act_undo.isEnabled()
    window.act_undo.trigger()
    assert document.annotation == measured and not window.act_undo.isEnabled()
