"""The review queue's "Doubtful first" order follows the results the background queue brings:
what lies ahead of the shown scan is sorted again as they arrive, while the shown scan, the
scans the sonographer has passed and the list's scroll position stay put."""

import threading

from PySide6.QtCore import Qt

from .conftest import FakeSegmenter, open_folder
from .test_folder_queue import _folder  # scans 400, 420, ... pixels wide, in that order


class FlaggingSegmenter(FakeSegmenter):
    """Gives the scans whose width is in ``doubtful`` a low shape score (flagged)."""

    def __init__(self, doubtful: set[int]):
        super().__init__()
        self.doubtful = doubtful

    def segment(self, pixels, pixel_size=None, regions=()):
        self.confidence = 0.5 if pixels.shape[1] in self.doubtful else 0.95
        return super().segment(pixels)


def _listed(window):
    panel = window.folder_panel
    return [panel.item(i).data(Qt.UserRole) for i in range(panel.count())]


def test_doubtful_first_sorts_again_ahead_of_the_shown_scan_as_results_arrive(
        qtbot, make_window, tmp_path):
    paths = _folder(tmp_path, "folder", 8)
    # flagged: scan01 (which the sonographer has passed), scan05 and scan07 (ahead)
    segmenter = FlaggingSegmenter({420, 500, 540})
    segmenter.gate = threading.Event()
    window = make_window(segmenter)
    session, panel = window.session, window.folder_panel
    window.clinic.queue.sort.setCurrentText("Doubtful first")
    open_folder(qtbot, window, paths[0].parent)
    panel.setFixedHeight(4 * panel.sizeHintForRow(0))  # the list scrolls
    qtbot.waitUntil(lambda: segmenter.calls == 1)  # the first scan, held in the worker
    assert session.scans == paths  # nothing measured yet: folder order
    session.go_to(paths[2])  # the sonographer's place: the third scan
    panel.scrollToItem(panel.item(3), panel.ScrollHint.PositionAtTop)  # looking ahead
    top = panel.verticalScrollBar().value()
    assert top > 0 and panel.visualItemRect(panel.currentItem()).bottom() < 0
    segmenter.gate.set()
    qtbot.waitUntil(lambda: not session.queue.running and all(
        session.states[p] != "not measured" for p in paths[1:]), timeout=20000)
    expected = paths[:3] + [paths[5], paths[7], paths[3], paths[4], paths[6]]
    qtbot.waitUntil(lambda: session.scans == expected, timeout=5000)
    assert [session.states[p] for p in expected[3:]] == ["low confidence"] * 2 + ["auto"] * 3
    assert session.states[paths[1]] == "low confidence"  # passed: stays where it was
    assert _listed(window) == expected
    assert session.shown == paths[2] and panel.currentItem().data(Qt.UserRole) == paths[2]
    assert panel.verticalScrollBar().value() == top  # the list did not move
    session.step(1)
    assert session.shown == paths[5]  # Next: the most doubtful scan ahead

