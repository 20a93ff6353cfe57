"""Where the outer-to-inner BPD pair's label and grab tabs stand on screen (issue 20, item 9):
the label right beside the caliper end it names, and each tab a full hit square clear of every
handle of the contour, so a press takes the handle the sonographer aimed at."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF

from fetalview.core.measure.biometry import OUTER_INNER
from fetalview.core.measure.geometry import fit_ellipse
from fetalview.core.record.calipers import saved_bpd_pair
from fetalview.gui.view.caliper_item import LABEL_GAP
from fetalview.gui.view.handles import HANDLE_HIT

from .conftest import SAMPLES, FakeSegmenter, drag, open_and_wait

CONTOUR_HANDLES = ("centre", "a+", "a-", "b+", "b-", "rotate")


def _on_screen(view, item):
    """The item's bounding rect in viewport pixels."""
    return item.deviceTransform(view.viewportTransform()).mapRect(item.boundingRect())


def _centre(view, handle) -> QPointF:
    return handle.deviceTransform(view.viewportTransform()).map(QPointF(0, 0))


@pytest.fixture
def bpd_shown(qtbot, make_window, settings, scans, request):
    settings.bpd_convention = OUTER_INNER
    window = make_window(FakeSegmenter())
    window.resize(1366, 700)
    document = open_and_wait(qtbot, window, scans / "249_HC.png")
    if request.param:  # the sonographer's contour: the pair is suggested from the skull
        ring = cv2.imread(str(SAMPLES / "249_HC_Annotation.png"), cv2.IMREAD_GRAYSCALE)
        ys, xs = np.nonzero(ring)
        window.session.edit_ellipse(fit_ellipse(np.stack([xs, ys], axis=1)), "Sonographer's")
    qtbot.wait(50)
    return window, document


@pytest.mark.parametrize("bpd_shown", [True, False], indirect=True)
def test_the_bpd_label_sits_beside_the_end_it_names(bpd_shown):
    window, _ = bpd_shown
    view, bpd = window.view, window.view.bpd_item
    label = bpd._label  # noqa: SLF001
    assert label.text().startswith("BPD")
    q = view.viewportTransform().map(QPointF(*bpd.pair.q))
    rect = _on_screen(view, label)
    dx = max(rect.left() - q.x(), 0.0, q.x() - rect.right())
    dy = max(rect.top() - q.y(), 0.0, q.y() - rect.bottom())
    assert math.hypot(dx, dy) <= 2 * LABEL_GAP  # 18 px at most; it was about 50
    marks = [h.mark for h in bpd.handles] + [view.ellipse_item.handle(n).mark
                                             for n in CONTOUR_HANDLES]
    for mark in marks:
        assert not rect.intersects(_on_screen(view, mark))


@pytest.mark.parametrize("bpd_shown", [True, False], indirect=True)
def test_bpd_tabs_stand_a_hit_square_clear_of_the_contours_handles(bpd_shown):
    window, document = bpd_shown
    view, bpd, item = window.view, window.view.bpd_item, window.view.ellipse_item
    for tab in bpd.handles:
        for name in CONTOUR_HANDLES:
            gap = _centre(view, tab) - _centre(view, item.handle(name))
            assert math.hypot(gap.x(), gap.y()) >= 2 * HANDLE_HIT - 0.5, name  # was ~30 px
    # a press at the edge of a tab's hit square, toward the contour's nearest handle, takes
    # the tab
    for end, tab in enumerate(bpd.handles):
        near = min(CONTOUR_HANDLES, key=lambda n: math.dist(
            *((p.x(), p.y()) for p in (_centre(view, tab), _centre(view, item.handle(n))))))
        a, b = _centre(view, tab), _centre(view, item.handle(near))
        press = a + (b - a) * ((HANDLE_HIT / 2 - 1) / math.dist((a.x(), a.y()), (b.x(), b.y())))
        before, pair = document.annotation.ellipse, bpd.pair
        drag(view, press.toPoint(), press.toPoint() + QPoint(0, 8))
        moved, _ = saved_bpd_pair(document.annotation.extra)
        assert document.annotation.ellipse == before  # the contour stayed put
        assert (moved.p, moved.q)[end] != (pair.p, pair.q)[end]
        window.act_undo.trigger()
