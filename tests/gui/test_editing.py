"""Correcting the contour by hand: handle drags, undo, manual drawing, pixel size, reopening."""

import math

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest

from fetalview.core.measure.ellipse_edit import drag_handle, ellipse_from_clicks, handle_positions
from fetalview.core.measure.geometry import Ellipse
from fetalview.core.measure.biometry import measure
from fetalview.core.record.sidecar_store import load_annotation

from .conftest import drag, mouse, open_and_wait


def _view_point(view, x: float, y: float) -> QPoint:
    return view.mapFromScene(QPointF(x, y))


def _scene_delta(view, start: QPoint, end: QPoint) -> tuple[float, float]:
    a, b = view.mapToScene(start), view.mapToScene(end)
    return b.x() - a.x(), b.y() - a.y()


def _hc_label(window) -> str:
    return window.panel.value_labels[0].text()


def _drag_axis_end_outward(window, handle: str, screen_px: int, release: bool = True):
    view = window.view
    start_ellipse = window.session.current.annotation.ellipse
    t = math.radians(start_ellipse.angle_deg + (0 if handle[0] == "a" else 90))
    sign = 1 if handle.endswith("+") else -1
    pos = view.ellipse_item.handle_scene_pos(handle)
    start = _view_point(view, pos.x(), pos.y())
    end = start + QPoint(round(sign * screen_px * math.cos(t)), round(sign * screen_px * math.sin(t)))
    drag(view, start, end, release=release)
    expected = drag_handle(start_ellipse, handle, *_scene_delta(view, start, end))
    return start_ellipse, expected, end


@pytest.mark.parametrize("handle", ["a+", "b-"])
def test_dragging_an_axis_end_changes_hc_by_the_expected_amount(qtbot, window, scans, handle,
                                                                settings):
    document = open_and_wait(qtbot, window, scans / "050_HC.png")
    stack = document.undo_stack
    steps_before = stack.count()
    before, expected, end = _drag_axis_end_outward(window, handle, 40, release=False)
    # live: the panel already shows the dragged HC, but nothing is committed yet
    ps = document.annotation.pixel_size
    assert _hc_label(window) == measure(expected, ps).lines()[0]
    assert stack.count() == steps_before and document.annotation.ellipse == before
    view = window.view
    mouse(view, QEvent.MouseButtonRelease, end, Qt.NoButton)
    after = document.annotation.ellipse
    axis = handle[0]
    d = 40 / window.view.zoom  # 40 screen pixels outward, in scan pixels
    # that end moved out by d, the axis grew by d, and the opposite end stayed where it was
    assert 2 * getattr(after, axis) == pytest.approx(2 * getattr(before, axis) + d,
                                                     abs=1.5 / window.view.zoom)
    opposite = {"a+": "a-", "b-": "b+"}[handle]
    assert handle_positions(after)[opposite] == pytest.approx(handle_positions(before)[opposite])
    assert after == expected
    assert measure(after, ps).hc == pytest.approx(measure(expected, ps).hc)
    assert measure(after, ps).hc > measure(before, ps).hc
    assert stack.count() == steps_before + 1 and document.annotation.edited
    assert window.folder_panel.state_text(document.path) == "edited"
    assert load_annotation(document.path, settings.data_dir).ellipse == after


def test_each_drag_is_one_undo_step_and_undo_keeps_the_sidecar_in_step(qtbot, window, scans,
                                                                        settings):
    document = open_and_wait(qtbot, window, scans / "050_HC.png")
    auto = document.annotation
    _drag_axis_end_outward(window, "a+", 30)
    first = document.annotation
    _drag_axis_end_outward(window, "b+", 20)
    second = document.annotation
    assert auto.ellipse != first.ellipse != second.ellipse

    def on_disk():
        return load_annotation(document.path, settings.data_dir)

    window.act_undo.trigger()
    assert document.annotation == first and on_disk().ellipse == first.ellipse
    assert window.view.ellipse_item.ellipse == first.ellipse
    assert _hc_label(window) == measure(first.ellipse, first.pixel_size).lines()[0]
    window.act_undo.trigger()
    assert document.annotation == auto and not on_disk().edited
    assert window.folder_panel.state_text(document.path) == "auto"
    window.act_redo.trigger()
    window.act_redo.trigger()
    assert on_disk().ellipse == second.ellipse and on_disk().edited


def test_centre_drag_moves_the_contour(qtbot, window, scans):
    document = open_and_wait(qtbot, window, scans / "050_HC.png")
    before = document.annotation.ellipse
    view = window.view
    start = _view_point(view, before.cx, before.cy)
    end = start + QPoint(25, -10)
    drag(view, start, end)
    dx, dy = _scene_delta(view, start, end)
    after = document.annotation.ellipse
    assert (after.cx, after.cy) == pytest.approx((before.cx + dx, before.cy + dy))
    assert (after.a, after.b) == (before.a, before.b)


def test_reset_to_model(qtbot, window, scans):
    document = open_and_wait(qtbot, window, scans / "050_HC.png")
    _drag_axis_end_outward(window, "a+", 30)
    assert window.act_reset.isEnabled()
    window.act_reset.trigger()
    assert document.annotation.ellipse == document.annotation.auto_ellipse
    assert not document.annotation.edited and not window.act_reset.isEnabled()


def test_reopening_restores_contour_edited_state_and_pixel_size(qtbot, window, make_window,
                                                                fake, scans):
    document = open_and_wait(qtbot, window, scans / "050_HC.png")
    _drag_axis_end_outward(window, "a+", 30)
    window.apply_calibration([(10, 10), (10, 410)], 40.0)
    shown = document.annotation
    window.close()
    calls = fake.calls

    reopened = make_window(fake)
    reopened.session.open_paths([scans / "050_HC.png"])
    a = reopened.session.current.annotation
    assert a.ellipse == shown.ellipse and a.edited and a.pixel_size == shown.pixel_size
    assert a.auto_ellipse == shown.auto_ellipse and a.model_version == "fake-1"
    assert reopened.view.ellipse_item.ellipse == shown.ellipse
    assert "calibrated: 40 mm line over 400 px" in reopened.panel.pixel_label.text()
    assert fake.calls == calls, "a restored contour must not be re-segmented"
    assert reopened.session.current.undo_stack.count() == 0  # the restored state is the start


def test_manual_three_click_ellipse(qtbot, make_window, fake, scans, settings):
    settings.segment_on_open = False
    window = make_window(fake)
    window.session.open_paths([scans / "050_HC.png"])
    assert window.session.current.annotation.ellipse is None
    view = window.view
    window.act_manual.trigger()
    clicks = [_view_point(view, 200, 240), _view_point(view, 520, 260),
              _view_point(view, 360, 400)]
    for p in clicks:
        QTest.mouseClick(view.viewport(), Qt.LeftButton, pos=p)
    expected = ellipse_from_clicks(*[(view.mapToScene(p).x(), view.mapToScene(p).y())
                                     for p in clicks])
    a = window.session.current.annotation
    assert a.ellipse == expected and a.edited and a.auto_ellipse is None
    assert view.tool is None and fake.calls == 0
    assert not window.act_reset.isEnabled()


def test_escape_cancels_manual_drawing(qtbot, window, scans):
    open_and_wait(qtbot, window, scans / "050_HC.png")
    before = window.session.current.annotation
    window.act_manual.trigger()
    QTest.mouseClick(window.view.viewport(), Qt.LeftButton, pos=QPoint(100, 100))
    QTest.keyClick(window.view, Qt.Key_Escape)
    assert window.view.tool is None and window.session.current.annotation == before


def test_without_pixel_size_values_are_marked_as_pixels(qtbot, window, scans, tmp_path):
    folder = tmp_path / "no_csv"
    folder.mkdir()
    (folder / "050_HC.png").write_bytes((scans / "050_HC.png").read_bytes())
    open_and_wait(qtbot, window, folder / "050_HC.png")
    labels = [label.text() for label in window.panel.value_labels]
    assert all(" px" in t and " mm" not in t for t in labels), labels
    assert "no pixel size" in labels[0]
    assert "No pixel size" in window.panel.warning_slot.text()
    assert "unknown" in window.panel.pixel_label.text()


def test_typed_pixel_size_is_undoable_and_shows_its_source(qtbot, window, scans, monkeypatch):
    import fetalview.gui.main_window as main_window
    document = open_and_wait(qtbot, window, scans / "050_HC.png")
    csv_size = document.annotation.pixel_size
    monkeypatch.setattr(main_window, "ask_number", lambda *args: (0.2, False))
    window.act_type_ps.trigger()
    assert document.annotation.pixel_size.mm_per_pixel == 0.2
    assert "typed by user" in window.panel.pixel_label.text()
    window.act_undo.trigger()
    assert document.annotation.pixel_size == csv_size


def test_calibration_by_drawing_a_line(qtbot, window, scans, monkeypatch):
    import fetalview.gui.main_window as main_window
    document = open_and_wait(qtbot, window, scans / "050_HC.png")
    monkeypatch.setattr(main_window, "ask_number", lambda *args: (30.0, False))
    view = window.view
    window.act_calibrate.trigger()
    p, q = _view_point(view, 100, 100), _view_point(view, 100, 400)
    QTest.mouseClick(view.viewport(), Qt.LeftButton, pos=p)
    QTest.mouseClick(view.viewport(), Qt.LeftButton, pos=q)
    length = math.dist((view.mapToScene(p).x(), view.mapToScene(p).y()),
                       (view.mapToScene(q).x(), view.mapToScene(q).y()))
    assert document.annotation.pixel_size.mm_per_pixel == pytest.approx(30.0 / length)
    assert "calibrated: 30 mm line" in window.panel.pixel_label.text()


def test_brightness_contrast_changes_display_not_data(qtbot, window, scans):
    document = open_and_wait(qtbot, window, scans / "050_HC.png")
    pixels = document.scan.pixels.copy()
    window.panel.brightness.setValue(40)
    window.panel.contrast.setValue(30)
    assert window.view.levels == (40, 30)
    assert (document.scan.pixels == pixels).all()
    window.panel.reset_levels()
    assert window.view.levels == (0, 0)


def test_platform_undo_redo_keys(qtbot, window, scans):
    document = open_and_wait(qtbot, window, scans / "050_HC.png")
    auto = document.annotation
    _drag_axis_end_outward(window, "a+", 30)
    edited = document.annotation
    QTest.keySequence(window, QKeySequence.Undo)
    assert document.annotation == auto
    QTest.keySequence(window, QKeySequence.Redo)
    assert document.annotation == edited


def test_rotation_handle_turns_the_contour_in_one_undo_step(qtbot, window, scans):
    document = open_and_wait(qtbot, window, scans / "050_HC.png")
    before = document.annotation.ellipse
    view = window.view
    pos = view.ellipse_item.handle_scene_pos("rotate")
    start = _view_point(view, pos.x(), pos.y())
    end = start + QPoint(-30, 40)
    drag(view, start, end)
    after = document.annotation.ellipse
    grab = view.mapToScene(start)
    assert after == drag_handle(before, "rotate", *_scene_delta(view, start, end),
                                grab=(grab.x(), grab.y()))
    assert abs(after.angle_deg - before.angle_deg) > 5
    assert (after.cx, after.cy, after.a, after.b) == (before.cx, before.cy, before.a, before.b)
    assert document.annotation.edited and document.undo_stack.count() == 1  # the model: no step
    window.act_undo.trigger()
    assert document.annotation.ellipse == before


def test_two_windows_editing_one_scan_keep_both_changes(qtbot, window, make_window, fake,
                                                       scans):
    """The first window calibrates, the second (opened before that) moves the contour: the
    second save merges the calibration in instead of silently dropping it, and says so."""
    first = open_and_wait(qtbot, window, scans / "050_HC.png")
    other = make_window(fake)
    second = open_and_wait(qtbot, other, scans / "050_HC.png")
    window.apply_calibration([(10, 10), (10, 410)], 40.0)
    calibrated = first.annotation.pixel_size
    e = second.annotation.ellipse
    moved = Ellipse(e.cx + 5, e.cy, e.a, e.b, e.angle_deg)
    other.session.edit_ellipse(moved, "Move")
    assert "merged" in other.message_bar.text
    assert second.annotation.pixel_size == calibrated  # shown in the second window too
    assert "calibrated: 40 mm line" in other.panel.pixel_label.text()
    saved = load_annotation(scans / "050_HC.png", other.settings.data_dir)
    assert saved.ellipse == moved and saved.edited and saved.pixel_size == calibrated
    # Undo in the second window would bring back the state before the calibration: the
    # history starts afresh instead.
    qtbot.waitUntil(lambda: not second.undo_stack.canUndo())
