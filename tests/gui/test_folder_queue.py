"""The whole folder measured in the background: results for every scan, the shown one first,
saved as automatic sidecars without touching a clinician's, the window free meanwhile, and
cancelled on close or when another folder opens."""

import threading

import cv2
import pytest
from PySide6.QtCore import QTimer

from fetalview.core.geometry import Ellipse
from fetalview.core.review import sign_off
from fetalview.core.sidecar import Annotation, load_annotation, save_annotation, sidecar_path

from .conftest import SAMPLES, FakeSegmenter, open_folder


class RecordingSegmenter(FakeSegmenter):
    """Records the width of each scan it segments; scans narrower than ``doubtful_below``
    get a low shape score (flagged for review)."""

    def __init__(self, doubtful_below: int = 0):
        super().__init__()
        self.widths: list[int] = []
        self.doubtful_below = doubtful_below

    def segment(self, pixels, pixel_size=None, regions=()):
        self.widths.append(pixels.shape[1])
        self.confidence = 0.5 if pixels.shape[1] < self.doubtful_below else 0.95
        return super().segment(pixels)


def _folder(tmp_path, name: str, count: int):
    """``count`` scans of distinct widths (so each result tells which scan it is from)."""
    folder = tmp_path / name
    folder.mkdir()
    image = cv2.imread(str(SAMPLES / "050_HC.png"), cv2.IMREAD_GRAYSCALE)
    paths = []
    for i in range(count):
        path = folder / f"scan{i:02d}.png"
        cv2.imwrite(str(path), cv2.resize(image, (400 + 20 * i, 300)))
        paths.append(path)
    return paths


def _done(window):
    return not window.session.queue.running


def test_every_scan_gets_its_result_the_shown_one_first_and_saved_as_automatic(
        qtbot, make_window, tmp_path, settings):
    paths = _folder(tmp_path, "folder", 6)
    segmenter = RecordingSegmenter()
    window = make_window(segmenter)
    progress = []
    window.session.queue.progress.connect(lambda done, total: progress.append((done, total)))
    open_folder(qtbot, window, paths[0].parent)
    qtbot.waitUntil(lambda: _done(window) and segmenter.calls == 6, timeout=20000)
    assert segmenter.widths == [400 + 20 * i for i in range(6)]  # shown first, then in order
    assert progress[-1] == (6, 6) and window.queue_label.text() == ""
    for path in paths:
        saved = load_annotation(path, settings.data_dir)
        pixels = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        assert saved.ellipse == saved.auto_ellipse == FakeSegmenter.expected(pixels)
        assert not saved.edited and saved.confirmed is None and saved.identity is not None
        assert window.session.states[path] == "auto"
        assert window.folder_panel.state_text(path) == "auto"
        assert "HC" in window.folder_panel._rows[path].text()  # noqa: SLF001
    # reopening an unvisited scan is instant: its result is read, not measured again
    window.session.go_to(paths[4])
    assert window.session.current.annotation.ellipse == load_annotation(
        paths[4], settings.data_dir).ellipse
    assert segmenter.calls == 6


def test_a_clinicians_sidecar_is_read_never_overwritten_nor_measured_again(
        qtbot, make_window, tmp_path, settings):
    paths = _folder(tmp_path, "folder", 4)
    mine = Ellipse(200, 150, 90, 70, 5)
    signoff = sign_off("A. Jones", mine, None, None, None)
    save_annotation(paths[2], Annotation(paths[2].name, mine, edited=True, confirmed=signoff),
                    settings.data_dir)
    before = sidecar_path(paths[2]).read_bytes()
    segmenter = RecordingSegmenter()
    window = make_window(segmenter)
    open_folder(qtbot, window, paths[0].parent)
    qtbot.waitUntil(lambda: _done(window) and segmenter.calls == 3, timeout=20000)
    qtbot.wait(50)
    assert segmenter.widths == [400, 420, 460]
    assert sidecar_path(paths[2]).read_bytes() == before
    assert window.session.states[paths[2]] == "corrected"
    assert "A. Jones" in window.folder_panel._rows[paths[2]].text()  # noqa: SLF001


def test_the_window_stays_free_while_the_folder_is_measured_and_close_cancels(
        qtbot, make_window, tmp_path):
    paths = _folder(tmp_path, "folder", 8)
    segmenter = RecordingSegmenter()
    segmenter.gate = threading.Event()
    window = make_window(segmenter)
    open_folder(qtbot, window, paths[0].parent)
    qtbot.waitUntil(lambda: segmenter.calls == 1)  # the shown scan, held back in the worker
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(10)
    qtbot.waitUntil(lambda: len(ticks) >= 5, timeout=2000)  # the GUI thread is free
    window.session.step(1)  # and answers the user at once
    assert window.session.current.path == paths[1]
    assert window.queue_label.text().startswith("Measuring the folder:")
    timer.stop()
    QTimer.singleShot(300, segmenter.gate.set)  # let the running job end during the close
    window.close()
    assert window.service._thread.isFinished()  # noqa: SLF001
    calls = segmenter.calls
    qtbot.wait(200)
    assert segmenter.calls == calls <= 2  # nothing ran after the close
    assert sum(sidecar_path(p).exists() for p in paths[2:]) == 0


def test_opening_another_folder_cancels_the_first_folders_queue(qtbot, make_window, tmp_path,
                                                                 settings):
    first = _folder(tmp_path, "first", 6)
    second = _folder(tmp_path, "second", 3)
    segmenter = RecordingSegmenter()
    segmenter.gate = threading.Event()
    window = make_window(segmenter)
    open_folder(qtbot, window, first[0].parent)
    qtbot.waitUntil(lambda: segmenter.calls == 1)
    open_folder(qtbot, window, second[0].parent)
    segmenter.gate.set()
    qtbot.waitUntil(lambda: _done(window) and all(
        window.session.states[p] == "auto" for p in second), timeout=20000)
    qtbot.wait(100)
    assert sum(sidecar_path(p).exists() for p in first[1:]) <= 1  # at most the job running
    assert all(window.session.states[p] == "not measured" for p in first[2:])


def test_doubtful_first_sorts_by_the_background_results(qtbot, make_window, tmp_path):
    paths = _folder(tmp_path, "folder", 5)
    window = make_window(RecordingSegmenter(doubtful_below=450))  # scan00..scan02 flagged
    open_folder(qtbot, window, paths[0].parent)
    qtbot.waitUntil(lambda: _done(window) and all(
        s != "not measured" for s in window.session.states.values()), timeout=20000)
    window.clinic.queue.sort.setCurrentText("Doubtful first")
    states = [window.session.states[p] for p in window.session.scans]
    assert states == ["low confidence"] * 3 + ["auto"] * 2


@pytest.mark.parametrize("segment_on_open", [False])
def test_without_segmenting_on_open_only_saved_results_are_read(qtbot, make_window, tmp_path,
                                                                settings, segment_on_open):
    paths = _folder(tmp_path, "folder", 3)
    save_annotation(paths[1], Annotation(paths[1].name, Ellipse(200, 150, 90, 70, 5),
                                         edited=True), settings.data_dir)
    settings.segment_on_open = segment_on_open
    segmenter = RecordingSegmenter()
    window = make_window(segmenter)
    open_folder(qtbot, window, paths[0].parent)
    qtbot.waitUntil(lambda: window.session.states[paths[1]] == "edited", timeout=20000)
    qtbot.waitUntil(lambda: _done(window))
    assert segmenter.calls == 0 and not sidecar_path(paths[2]).exists()


def test_a_damaged_scan_is_marked_unreadable_in_the_background_and_the_rest_measured(
        qtbot, make_window, tmp_path):
    paths = _folder(tmp_path, "folder", 3)
    paths[1].write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 20)
    segmenter = RecordingSegmenter()
    window = make_window(segmenter)
    open_folder(qtbot, window, paths[0].parent)
    qtbot.waitUntil(lambda: _done(window) and segmenter.calls == 2, timeout=20000)
    states = window.session.states
    assert [states[p] for p in paths] == ["auto", "unreadable", "auto"]
    assert not sidecar_path(paths[1]).exists()
