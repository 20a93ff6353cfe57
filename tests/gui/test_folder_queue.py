"""The whole folder measured in the background: results for every scan, the shown one first,
saved as automatic sidecars (in the worker thread) without touching a clinician's, stale ones
found and set aside, the window free meanwhile, and cancelled on close or when another folder
opens."""

import shutil
import threading

import cv2
import pytest
from PySide6.QtCore import QTimer

import fetalview.core.record.sidecar_store as sidecar_store
from fetalview.core.measure.geometry import Ellipse
from fetalview.core.io.scans import load_scan
from fetalview.core.record.review import sign_off
from fetalview.core.record.sidecar import Annotation, identity_of, read_sidecar, sidecar_path
from fetalview.core.record.sidecar_store import SidecarStore, load_annotation, save_annotation
from fetalview.gui.folder import queue as folder_queue

from .conftest import SAMPLES, FakeSegmenter, open_folder

HC18 = ("050_HC.png", "249_HC.png", "673_HC.png", "796_2HC.png")  # all 800x540


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
    said = []
    window.session.info.connect(said.append)
    open_folder(qtbot, window, paths[0].parent)
    qtbot.waitUntil(lambda: _done(window) and segmenter.calls == 2, timeout=20000)
    states = window.session.states
    assert [states[p] for p in paths] == ["auto", "unreadable", "auto"]
    assert not sidecar_path(paths[1]).exists()
    # named once: the loader's reason starts with the name too
    assert f"{paths[1].name}: the file is damaged or truncated (Truncated File Read)" in said


def _real_folder(tmp_path, count: int):
    """``count`` real HC18 scans, ``scan<i>.png``, in a folder of their own."""
    folder = tmp_path / "real"
    folder.mkdir()
    paths = [folder / f"scan{i}.png" for i in range(count)]
    for name, path in zip(HC18, paths):
        shutil.copy(SAMPLES / name, path)
    return paths


def _identity(path):
    return identity_of(load_scan(path).pixels)


class HeldSegmenter:
    """The real model; the calls numbered in ``holds`` (1 = the first) wait until released,
    so a test can act while a given job is in the worker."""

    def __init__(self, real, holds=()):
        self.real = real
        self.calls = 0
        self.gates = {n: threading.Event() for n in holds}

    def __getattr__(self, name):  # device_label, fallback_reason, model_version
        return getattr(self.real, name)

    def release(self, call: int) -> None:
        self.gates[call].set()

    def segment(self, pixels, pixel_size=None, regions=()):
        self.calls += 1
        if self.calls in self.gates:
            self.gates[self.calls].wait(30)
        return self.real.segment(pixels, regions=regions)


def test_background_sidecars_are_written_in_the_worker_thread(qtbot, make_window, segmenter,
                                                              tmp_path, settings, monkeypatch):
    """Folder I/O never runs on the GUI thread: every sidecar write the queue causes is
    recorded with the thread it ran on (the shown scan's own document saves on the GUI
    thread, as every edit of the user does)."""
    paths = _real_folder(tmp_path, 3)
    settings.automatic_beside = True  # automatic results beside the scans, as before
    writes = []
    for name in ("write_atomic", "create_atomic"):
        real = getattr(sidecar_store, name)
        monkeypatch.setattr(sidecar_store, name, lambda path, data, real=real: (
            writes.append((path, threading.current_thread())), real(path, data))[1])
    window = make_window(segmenter)
    open_folder(qtbot, window, paths[0].parent)
    qtbot.waitUntil(lambda: _done(window) and all(sidecar_path(p).exists() for p in paths),
                    timeout=60000)
    background = [(path, thread) for path, thread in writes if path != sidecar_path(paths[0])]
    assert sorted(path for path, _ in background) == [sidecar_path(p) for p in paths[1:]]
    assert all(thread is not threading.main_thread() for _, thread in background)
    for path in paths[1:]:
        saved = load_annotation(path, settings.data_dir)
        assert saved.model_version == segmenter.model_version and not saved.edited
        assert saved.identity == _identity(path)
        assert window.session.results[path] == saved
        assert window.session.states[path] in ("auto", "low confidence")


def test_a_replaced_scan_and_a_copied_sidecar_are_found_in_the_background_and_remeasured(
        qtbot, make_window, segmenter, tmp_path, settings, monkeypatch):
    """A clinician's confirmed measurement saved on other pixels (the scan replaced since, or
    its sidecar copied beside another scan) is never shown, counted or exported for the
    scan: the queue sets it aside (in the worker thread, renamed, never deleted), measures the
    scan afresh and says so, as opening the scan does."""
    paths = _real_folder(tmp_path, 4)
    mine = Ellipse(400, 270, 150, 115, 12)
    for path in paths[1:3]:
        save_annotation(path, Annotation(path.name, mine, edited=True, identity=_identity(path),
                                         confirmed=sign_off("A. Jones", mine, None, None, None)),
                        settings.data_dir)
    kept = sidecar_path(paths[1]).read_bytes()
    stale = {paths[2]: sidecar_path(paths[2]).read_bytes(), paths[3]: kept}
    cv2.imwrite(str(paths[2]), cv2.flip(cv2.imread(str(paths[2]), cv2.IMREAD_GRAYSCALE), 1))
    sidecar_path(paths[3]).write_bytes(kept)  # scan1's sidecar copied beside scan3
    set_aside = []
    real_set_aside = SidecarStore.set_aside
    monkeypatch.setattr(SidecarStore, "set_aside", lambda store, found, why: (
        set_aside.append(threading.current_thread()), real_set_aside(store, found, why))[1])
    window = make_window(segmenter)
    notes = []
    window.session.error.connect(notes.append)
    open_folder(qtbot, window, paths[0].parent)
    qtbot.waitUntil(lambda: _done(window) and all(
        window.session.states[p] != "corrected" for p in stale), timeout=60000)
    assert sidecar_path(paths[1]).read_bytes() == kept  # on its own pixels: read, untouched
    assert window.session.states[paths[1]] == "corrected"
    assert len(set_aside) == 2 and threading.main_thread() not in set_aside
    for path, old in stale.items():
        aside, = path.parent.glob(f"{path.name}.fetalview.other-scan-*.json")
        assert aside.read_bytes() == old
        assert any(aside.name in n and "does not belong to this scan" in n for n in notes)
        fresh = load_annotation(path, settings.data_dir)
        assert fresh.identity == _identity(path) and fresh.confirmed is None
        assert not fresh.edited and fresh.model_version == segmenter.model_version
        assert window.session.results[path] == window.session.known_result(path)[1] == fresh
        assert window.session.states[path] in ("auto", "low confidence")


@pytest.mark.parametrize("race", ["seen open", "edit saved first", "job saved first"])
def test_a_clinicians_edit_made_while_the_background_measures_that_scan_stands(
        qtbot, make_window, segmenter, tmp_path, settings, monkeypatch, race):
    """The user opens and edits a scan while its background job runs. "seen open": the job
    sees the scan open and saves nothing (its document saves). The other two play the race
    that check cannot close (the job looked just before the scan opened): the job's file is
    only ever created, so an edit saved before it stands untouched; a job's file saved before
    the edit is merged by the open document, where the edit wins and the automatic file is
    kept aside."""
    paths = _real_folder(tmp_path, 3)
    settings.automatic_beside = True  # the job's file beside the scan, as the edit's
    if race != "seen open":
        real = folder_queue.measure_unvisited
        monkeypatch.setattr(folder_queue, "measure_unvisited",
                            lambda *args: real(*args[:4], lambda: False, *args[5:]))
    held = HeldSegmenter(segmenter, holds=(2, 3))  # 2: scan1's job; 3: scan1's own request
    window = make_window(held)
    notes = []
    window.session.error.connect(notes.append)
    open_folder(qtbot, window, paths[0].parent)
    qtbot.waitUntil(lambda: held.calls == 2, timeout=60000)
    window.session.go_to(paths[1])
    if race != "edit saved first":  # the job ends before the edit (its own request then runs)
        held.release(2)
        qtbot.waitUntil(lambda: held.calls == 3, timeout=60000)
        assert sidecar_path(paths[1]).exists() == (race == "job saved first")
    mine = Ellipse(390, 260, 160, 120, 20)
    window.session.edit_ellipse(mine, "Move the contour")
    held.release(2)
    held.release(3)
    qtbot.waitUntil(lambda: _done(window) and not window.session.segmenting, timeout=60000)
    qtbot.wait(50)
    saved = load_annotation(paths[1], settings.data_dir)
    assert saved.ellipse == mine and saved.edited
    assert window.session.current.annotation.ellipse == mine
    assert window.session.states[paths[1]] == "edited"
    others = list(paths[1].parent.glob(f"{paths[1].name}.fetalview.other-*.json"))
    if race == "job saved first":
        aside, = others
        assert not read_sidecar(aside).edited  # the automatic result, kept
        assert any(aside.name in n for n in notes)
    else:
        assert others == [] and not any("another program" in n for n in notes)
