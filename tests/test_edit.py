"""Hand-editing geometry: handle drags, the three-click ellipse, calibration lines."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fetalview.core.measure.ellipse_edit import (MIN_SEMI_AXIS, calibrated_pixel_size, drag_handle,
                                 ellipse_from_clicks, handle_positions)
from fetalview.core.measure.geometry import Ellipse

E = Ellipse(300.0, 200.0, 120.0, 80.0, 30.0)


def test_handles_sit_on_the_axis_ends():
    pos = handle_positions(E)
    (a0, a1), (b0, b1) = E.axis_endpoints()
    assert pos["a+"] == pytest.approx(tuple(a1)) and pos["a-"] == pytest.approx(tuple(a0))
    assert pos["b+"] == pytest.approx(tuple(b1)) and pos["b-"] == pytest.approx(tuple(b0))
    assert pos["centre"] == (300.0, 200.0)


OPPOSITE = {"a+": "a-", "a-": "a+", "b+": "b-", "b-": "b+"}


@pytest.mark.parametrize("handle, axis, sign", [("a+", "a", 1), ("a-", "a", -1),
                                                ("b+", "b", 1), ("b-", "b", -1)])
@pytest.mark.parametrize("d", [15.0, -30.0])
def test_dragging_an_axis_end_moves_that_end_only(handle, axis, sign, d):
    t = math.radians(E.angle_deg)
    u = (math.cos(t), math.sin(t)) if axis == "a" else (-math.sin(t), math.cos(t))
    moved = drag_handle(E, handle, sign * d * u[0], sign * d * u[1])
    assert 2 * getattr(moved, axis) == pytest.approx(2 * getattr(E, axis) + d)  # the axis: +d
    before, after = handle_positions(E), handle_positions(moved)
    assert after[OPPOSITE[handle]] == pytest.approx(before[OPPOSITE[handle]])  # stays put
    hx, hy = before[handle]
    assert after[handle] == pytest.approx((hx + sign * d * u[0], hy + sign * d * u[1]))
    assert moved.angle_deg == E.angle_deg
    other = "b" if axis == "a" else "a"
    assert getattr(moved, other) == getattr(E, other)


def test_sideways_drag_of_an_axis_end_changes_nothing():
    t = math.radians(E.angle_deg)
    moved = drag_handle(E, "a+", -math.sin(t) * 10, math.cos(t) * 10)
    assert moved.a == pytest.approx(E.a)


def test_semi_axis_never_collapses():
    assert drag_handle(E, "a+", -1000, -1000).a >= MIN_SEMI_AXIS


def test_centre_drag_moves_only_the_centre():
    moved = drag_handle(E, "centre", 5, -7)
    assert moved == Ellipse(305.0, 193.0, 120.0, 80.0, 30.0)


def test_rotation_points_axis_a_at_the_pointer():
    hx, hy = handle_positions(E)["rotate"]
    # move the handle to straight below the centre: axis a turns to 90 degrees (y down)
    moved = drag_handle(E, "rotate", E.cx - hx, E.cy + 50 - hy)
    assert moved.angle_deg == pytest.approx(90.0)
    assert (moved.a, moved.b, moved.cx, moved.cy) == (E.a, E.b, E.cx, E.cy)


def test_rotation_turns_by_the_pointer_angle_wherever_the_handle_was_grabbed():
    grab = (E.cx + 100.0, E.cy)  # off the axis: the ellipse turns as far as the pointer turns
    moved = drag_handle(E, "rotate", -100.0, 100.0, grab=grab)  # a quarter turn about the centre
    assert moved.angle_deg == pytest.approx(E.angle_deg + 90.0)


def test_unknown_handle_is_an_error():
    with pytest.raises(ValueError, match="unknown handle"):
        drag_handle(E, "corner", 1, 1)


def test_three_clicks_make_the_ellipse():
    e = ellipse_from_clicks((100, 200), (300, 200), (200, 260))
    assert (e.cx, e.cy, e.a, e.b) == pytest.approx((200, 200, 100, 60))
    assert e.angle_deg == pytest.approx(0.0)


@given(st.floats(50, 500), st.floats(50, 500), st.floats(10, 200), st.floats(5, 150),
       st.floats(-180, 180))
def test_clicking_an_ellipses_own_points_recovers_it(cx, cy, a, b, angle):
    e = Ellipse(cx, cy, a, b, angle)
    (a0, a1), (_, b1) = e.axis_endpoints()
    got = ellipse_from_clicks(tuple(a0), tuple(a1), tuple(b1))
    assert (got.cx, got.cy, got.a, got.b) == pytest.approx((cx, cy, a, b), abs=1e-6)
    assert got.perimeter() == pytest.approx(e.perimeter())


@pytest.mark.parametrize("clicks", [((5, 5), (5.5, 5), (9, 40)), ((0, 0), (100, 0), (50, 0.5))])
def test_degenerate_clicks_are_refused(clicks):
    with pytest.raises(ValueError):
        ellipse_from_clicks(*clicks)


def test_calibration_line():
    ps = calibrated_pixel_size((10, 10), (10, 210), 50.0)
    assert ps.mm_per_pixel == pytest.approx(0.25)
    assert "50 mm" in ps.source and "200 px" in ps.source


@pytest.mark.parametrize("p2, mm", [((12, 10), 10.0), ((10, 210), 0.0), ((10, 210), -3.0)])
def test_bad_calibration_is_refused(p2, mm):
    with pytest.raises(ValueError):
        calibrated_pixel_size((10, 10), p2, mm)
