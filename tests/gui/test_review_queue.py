"""The review queue's "Doubtful first" order follows the results the background queue brings:
what lies ahead of the shown scan is sorted again as they arrive, while the shown scan, the
scans the sonographer has passed and the list's scroll position stay put; it ranks by doubt
relative to the head's size, with the shape checks raising it; "Flagged only" lists the
flagged."""

import math
import threading
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt

from fetalview.core.measure.geometry import Ellipse
from fetalview.core.measure.pixelsize import PixelSize
from fetalview.core.record.sidecar import Annotation
from fetalview.gui.folder.review_order import review_order

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



class ShapedSegmenter(FakeSegmenter):
    """Gives each scan width a contour of the cephalic index and the HC uncertainty (as a
    share of HC) in ``shapes``: {width: (index, share)}."""

    def __init__(self, shapes: dict[int, tuple[float, float]]):
        super().__init__(confidence=0.99)
        self.shapes = shapes

    def segment(self, pixels, pixel_size=None, regions=()):
        result = super().segment(pixels)
        h, w = pixels.shape
        index, share = self.shapes[w]
        e = Ellipse(w / 2, h / 2, w / 4, w / 4 * index / 100, 0)
        return replace(result, ellipse=e, outline=e.points(64),
                       unsure_band_px=share * e.perimeter() / math.pi)


def test_doubtful_first_ranks_by_relative_doubt_and_flagged_only_shows_the_flagged(
        qtbot, make_window, tmp_path):
    """issue 22: a cephalic index of 95.6 was not flagged and a small head's doubt ranked
    last. Now that contour is flagged and first, the others follow by their uncertainty as a
    share of HC, and "Flagged only" lists it alone."""
    paths = _folder(tmp_path, "folder", 4)
    window = make_window(ShapedSegmenter({400: (80, 0.010), 420: (80, 0.019),
                                          440: (95.6, 0.010), 460: (80, 0.015)}))
    session, panel = window.session, window.folder_panel
    window.clinic.queue.sort.setCurrentText("Doubtful first")
    open_folder(qtbot, window, paths[0].parent)
    qtbot.waitUntil(lambda: not session.queue.running and all(
        session.states[p] != "not measured" for p in paths), timeout=20000)
    session.go_to(paths[2])
    window.clinic.queue.sort.setCurrentText("Folder order")
    window.clinic.queue.sort.setCurrentText("Doubtful first")
    assert [session.states[p] for p in paths] == ["auto", "auto", "low confidence", "auto"]
    assert session.scans == [paths[2], paths[1], paths[3], paths[0]]
    assert _listed(window) == session.scans
    window.clinic.queue.filter.setCurrentText("Flagged only")
    shown = [panel.item(i).data(Qt.UserRole) for i in range(panel.count())
             if not panel.item(i).isHidden()]
    assert shown == [paths[2]]
    assert "cephalic index 95.6" in window.panel.state_label.text()


def test_doubt_in_millimetres_no_longer_puts_every_large_head_first():
    """4 mm on a 255 mm head (1.6% of HC) is less doubtful than 2.5 mm on a 100 mm head."""
    mm = PixelSize(0.1, "test")
    large, small = Ellipse(400, 300, 450, 360, 0), Ellipse(400, 300, 177, 141, 0)
    annotations = {
        Path("large.png"): Annotation("large.png", large, large, confidence=0.99, pixel_size=mm,
                                      extra={"unsure_band_px": 4.0 / (math.pi * 0.1)}),
        Path("small.png"): Annotation("small.png", small, small, confidence=0.99, pixel_size=mm,
                                      extra={"unsure_band_px": 2.5 / (math.pi * 0.1)})}
    paths = list(annotations)
    states = {p: "auto" for p in paths}
    assert review_order(paths, "Doubtful first", states, annotations, {paths[0]: 0, paths[1]: 1}) \
        == [Path("small.png"), Path("large.png")]
