"""Calipers on screen: one end moves alone, arrow-key nudges, hit areas at any zoom, the
two-point distance tool, the outer-to-inner BPD suggestion and its confirmation, and growth
figures withheld while a flagged contour waits for review."""

import math
from dataclasses import replace

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QToolButton

from fetalview.core.record.calipers import saved_bpd_pair, saved_calipers
from fetalview.core.measure.ellipse_edit import handle_positions
from fetalview.core.measure.geometry import fit_ellipse
from fetalview.core.measure.biometry import OUTER_INNER
from fetalview.core.record.sidecar_store import load_annotation

from .conftest import SAMPLES, FakeSegmenter, drag, open_and_wait


def _screen(view, handle) -> QPoint:
    return view.mapFromScene(handle.view_scene_pos())


def _select(view, handle) -> None:
    """Click a handle without moving it: it becomes the one the arrow keys move."""
    drag(view, _screen(view, handle), _screen(view, handle), steps=1)
    assert handle.isSelected()


def _reference_ellipse(name: str):
    ring = cv2.imread(str(SAMPLES / f"{name}_Annotation.png"), cv2.IMREAD_GRAYSCALE)
    ys, xs = np.nonzero(ring)
    return fit_ellipse(np.stack([xs, ys], axis=1))


@pytest.mark.parametrize("modifier, step", [(Qt.NoModifier, 1.0), (Qt.ShiftModifier, 10.0)])
def test_arrow_keys_nudge_the_selected_handle_and_only_it(qtbot, window, scans, modifier, step):
    document = open_and_wait(qtbot, window, scans / "050_HC.png")
    view = window.view
    before = document.annotation.ellipse
    handle = view.ellipse_item.handle("b+")
    _select(view, handle)
    assert document.annotation.ellipse == before  # a click is not an edit
    count = document.undo_stack.count()
    t = math.radians(before.angle_deg + 90)  # nudge along axis b, downwards on screen
    key = Qt.Key_Down if math.sin(t) > 0 else Qt.Key_Up
    QTest.keyClick(view, key, modifier)
    after = document.annotation.ellipse
    moved = handle_positions(after)["b+"][1] - handle_positions(before)["b+"][1]
    assert abs(moved) == pytest.approx(step * abs(math.sin(t)) ** 2, abs=1e-6)
    assert handle_positions(after)["b-"] == pytest.approx(handle_positions(before)["b-"])
    assert document.undo_stack.count() == count + 1 and document.annotation.edited


@pytest.mark.parametrize("zoom", [0.1, 1.0, 8.0])
def test_handles_take_the_pointer_over_14_pixels_and_rotation_stands_apart(qtbot, window, scans,
                                                                            zoom):
    open_and_wait(qtbot, window, scans / "050_HC.png")
    view = window.view
    view.zoom_by(zoom / view.zoom)
    item = view.ellipse_item
    for name in ("centre", "a+", "a-", "b+", "b-", "rotate"):
        handle = item.handle(name)
        hit = handle.deviceTransform(view.viewportTransform()).mapRect(
            handle.shape().boundingRect())
        assert min(hit.width(), hit.height()) >= 14
    gap = _screen(view, item.handle("rotate")) - _screen(view, item.handle("a+"))
    assert math.hypot(gap.x(), gap.y()) >= 30  # never mistaken for the axis end under it
    # and the item under the rotation handle's centre is the rotation handle, not the end
    rotate_at = view.mapFromScene(item.handle("rotate").view_scene_pos())
    rotate = item.handle("rotate")
    assert view.itemAt(rotate_at) in (rotate, rotate.mark)


def test_confirm_bpd_calipers_is_offered_only_for_outer_to_inner(qtbot, window, scans):
    open_and_wait(qtbot, window, scans / "050_HC.png")  # outer-to-outer, the default
    button = next(b for b in window.panel.findChildren(QToolButton)
                  if b.defaultAction() is window.act_confirm_bpd)
    assert not button.isVisibleTo(window.panel) and not window.view.bpd_item.isVisible()


def test_distance_tool_places_a_saved_exported_caliper_whose_ends_move_alone(
        qtbot, window, scans, settings, tmp_path):
    document = open_and_wait(qtbot, window, scans / "050_HC.png")
    view = window.view
    window.act_distance.trigger()
    p, q = view.mapFromScene(QPointF(100, 100)), view.mapFromScene(QPointF(300, 100))
    for point in (p, q):
        QTest.mouseClick(view.viewport(), Qt.LeftButton, pos=point)
    (caliper,) = saved_calipers(load_annotation(document.path, settings.data_dir).extra)
    mm = document.annotation.pixel_size.mm_per_pixel
    assert caliper.length == pytest.approx(200, abs=1.5)
    assert f"D1 {caliper.length * mm:.1f} mm" in window.panel.distances_label.text()
    item = view.distance_items[0]
    far = item.handles[1]
    start = _screen(view, far)
    drag(view, start, start + QPoint(0, 40))
    (moved,) = saved_calipers(document.annotation.extra)
    assert moved.p == caliper.p and moved.q != caliper.q  # the other end stayed put
    from fetalview.gui.export import caption
    assert any(line.startswith("D1 ") for line in caption(document))
    assert window.export_csv(tmp_path / "m.csv")
    assert f"{moved.length * mm:.2f}" in (tmp_path / "m.csv").read_text()
    QTest.keyClick(view, Qt.Key_Delete)  # the dragged end is still selected
    assert saved_calipers(document.annotation.extra) == []
    assert not window.panel.distances_label.isVisible()


def test_outer_inner_bpd_is_suggested_then_confirmed_and_editable(qtbot, make_window, settings,
                                                                    scans):
    settings.bpd_convention = OUTER_INNER
    window = make_window(FakeSegmenter())
    document = open_and_wait(qtbot, window, scans / "249_HC.png")
    window.session.edit_ellipse(_reference_ellipse("249_HC"), "Sonographer's ellipse")
    view = window.view
    bpd_text = window.panel.value_labels[1].text()
    assert "outer-inner, suggested" in bpd_text
    assert view.bpd_item.isVisible() and view.bpd_item.pair is not None
    assert saved_bpd_pair(document.annotation.extra) is None  # only a suggestion so far
    assert window.act_confirm_bpd.isEnabled()
    button = next(b for b in window.panel.findChildren(QToolButton)
                  if b.defaultAction() is window.act_confirm_bpd)
    assert button.isVisibleTo(window.panel)
    suggested = view.bpd_item.pair
    assert 0.5 < 2 * document.annotation.ellipse.minor - suggested.length < 40  # inside o-o
    QTest.keyClick(window, Qt.Key_B)
    saved, confirmed = saved_bpd_pair(load_annotation(document.path, settings.data_dir).extra)
    assert confirmed and saved.p == pytest.approx(suggested.p, abs=0.01)
    assert saved.q == pytest.approx(suggested.q, abs=0.01)
    assert "suggested" not in window.panel.value_labels[1].text()
    assert ">outer-inner</span>" in window.panel.value_labels[1].text()
    assert not window.act_confirm_bpd.isEnabled()
    near = view.bpd_item.handles[0]
    _select(view, near)
    QTest.keyClick(view, Qt.Key_Up, Qt.ShiftModifier)
    pair, confirmed = saved_bpd_pair(document.annotation.extra)
    assert pair.q == saved.q and pair.p == pytest.approx((saved.p[0], saved.p[1] - 10))
    assert confirmed
    window.act_undo.trigger()
    assert saved_bpd_pair(document.annotation.extra) == (saved, True)


def test_flagged_scan_withholds_ga_and_percentile_until_reviewed(qtbot, make_window, scans):
    window = make_window(FakeSegmenter(confidence=0.5))
    document = open_and_wait(qtbot, window, scans / "050_HC.png")
    record = {"method": "weeks+days", "ga": "20+0"}
    document.push(replace(document.annotation, extra={**document.annotation.extra,
                                                      "pregnancy": record}), "GA")
    result = window.clinic.pregnancy.result.text()
    assert "review the contour first" in result and "Hadlock" not in result
    assert "review the contour first" in window.panel.warning_slot.text()
    from fetalview.gui.export import caption, warnings
    text = "\n".join(caption(document))
    assert "review the contour first" in text and "percentile," not in text
    assert warnings(document)[0].startswith("Review: model confidence 0.50")
    window.session.edit_ellipse(document.annotation.ellipse, "Reviewed")  # a person's edit
    result = window.clinic.pregnancy.result.text()
    assert "Hadlock" in result and "z " in result
    assert "review the contour first" not in window.panel.warning_slot.text()


def test_z_beyond_two_is_highlighted_in_the_panel(qtbot, window, scans):
    document = open_and_wait(qtbot, window, scans / "050_HC.png")  # HC ~ 160 mm: 19 weeks
    document.push(replace(document.annotation, extra={
        **document.annotation.extra, "pregnancy": {"method": "weeks+days", "ga": "22+0"}}),
        "GA")
    result = window.clinic.pregnancy.result
    assert "BEYOND +/-2 SD" in result.text() and "color" in result.styleSheet()


@pytest.mark.parametrize("suggested", [True, False])
def test_bpd_calipers_leave_the_contours_short_axis_ends_to_grab(qtbot, make_window, settings,
                                                                 scans, suggested):
    """The outer-to-inner pair starts on (or a skull's thickness inside) the contour's
    short-axis ends: a press on each end's handle moves the contour, and each caliper end
    still moves from its own grab point."""
    from fetalview.gui.view.handles import HANDLE_HIT

    settings.bpd_convention = OUTER_INNER
    window = make_window(FakeSegmenter())
    document = open_and_wait(qtbot, window, scans / "249_HC.png")
    if suggested:  # placed on the skull's echoes
        window.session.edit_ellipse(_reference_ellipse("249_HC"), "Sonographer's ellipse")
    # else: the fake contour lies off the skull, so the pair starts on the contour's ends
    view, item, bpd = window.view, window.view.ellipse_item, window.view.bpd_item
    e = document.annotation.ellipse
    short = ("a+", "a-") if e.a < e.b else ("b+", "b-")
    pair = bpd.pair
    near = min(short, key=lambda n: math.dist(handle_positions(e)[n], pair.p))
    assert math.dist(handle_positions(e)[near], pair.p) * view.zoom < HANDLE_HIT / 2
    for name in short:
        before = document.annotation.ellipse
        start = _screen(view, item.handle(name))
        drag(view, start, start + QPoint(0, 12))
        assert document.annotation.ellipse != before, name  # the contour's end moved
        assert document.undo_stack.undoText() == "Move a caliper end"
        window.act_undo.trigger()
        assert document.annotation.ellipse == before
    for end, handle in enumerate(bpd.handles):
        pair = bpd.pair
        start = _screen(view, handle)
        drag(view, start, start + QPoint(0, 10))
        moved, _ = saved_bpd_pair(document.annotation.extra)
        assert document.annotation.ellipse == e  # the contour stayed put
        assert (moved.p, moved.q)[1 - end] == pytest.approx((pair.p, pair.q)[1 - end], abs=0.01)
        assert (moved.p, moved.q)[end][1] == pytest.approx((pair.p, pair.q)[end][1]
                                                            + 10 / view.zoom, abs=0.5)
