import math

import numpy as np
import pytest

from fetalview.core.measure.geometry import (Ellipse, fit_ellipse, fit_ellipse_robust,
                                     mask_boundary_points, ramanujan_perimeter)


@pytest.mark.parametrize("a,b", [(100, 100), (120, 80), (200, 60), (50, 49)])
def test_perimeter_matches_numerical_integration(a, b):
    t = np.linspace(0, 2 * np.pi, 200001)
    x, y = a * np.cos(t), b * np.sin(t)
    numeric = np.sum(np.hypot(np.diff(x), np.diff(y)))
    assert ramanujan_perimeter(a, b) == pytest.approx(numeric, rel=1e-6)


@pytest.mark.parametrize("seed", range(5))
def test_fit_recovers_noisy_ellipse_within_half_percent(seed):
    rng = np.random.default_rng(seed)
    truth = Ellipse(rng.uniform(300, 500), rng.uniform(200, 300), rng.uniform(120, 220),
                    rng.uniform(60, 110), rng.uniform(0, 180))
    pts = truth.points(600) + rng.normal(0, 1.0, (600, 2))
    fit = fit_ellipse(pts)
    assert fit.cx == pytest.approx(truth.cx, rel=5e-3)
    assert fit.cy == pytest.approx(truth.cy, rel=5e-3)
    assert fit.major == pytest.approx(truth.major, rel=5e-3)
    assert fit.minor == pytest.approx(truth.minor, rel=5e-3)
    assert fit.perimeter() == pytest.approx(truth.perimeter(), rel=5e-3)


def test_subpixel_boundary_of_a_rasterised_ellipse_has_no_inward_bias():
    truth = Ellipse(200.3, 150.7, 90.0, 60.0, 30.0)
    coverage = truth.filled_mask((300, 400), supersample=8).astype(np.float32) / 255.0
    level = coverage - 0.5  # zero on the true boundary, like the model's logits
    fit = fit_ellipse(mask_boundary_points(level > 0, level))
    assert fit.perimeter() == pytest.approx(truth.perimeter(), abs=0.5)
    pixel_centres = fit_ellipse(np.argwhere(level > 0)[:, ::-1])  # the naive alternative
    assert abs(fit.perimeter() - truth.perimeter()) < abs(pixel_centres.perimeter()
                                                          - truth.perimeter())


def test_robust_fit_ignores_a_bulge():
    truth = Ellipse(300, 200, 150, 100, 10)
    pts = truth.points(720)
    bulge = slice(100, 160)  # a leak into a neighbouring structure
    pts[bulge] += (pts[bulge] - [truth.cx, truth.cy]) * 0.15
    assert abs(fit_ellipse(pts).perimeter() - truth.perimeter()) > 5
    assert fit_ellipse_robust(pts).perimeter() == pytest.approx(truth.perimeter(), rel=2e-3)


def test_axis_endpoints_lie_on_the_ellipse_at_the_axis_lengths():
    e = Ellipse(10, 20, 30, 15, 45)
    a_ends, b_ends = e.axis_endpoints()
    assert np.linalg.norm(a_ends[1] - a_ends[0]) == pytest.approx(60)
    assert np.linalg.norm(b_ends[1] - b_ends[0]) == pytest.approx(30)
    assert a_ends[1] == pytest.approx([10 + 30 / math.sqrt(2), 20 + 30 / math.sqrt(2)])


def test_fit_refuses_too_few_points():
    with pytest.raises(ValueError):
        fit_ellipse(np.zeros((3, 2)))



BLOB = Ellipse(30.0, 20.0, 28.0, 15.0, 25.0).filled_mask((41, 61)) > 0  # clear of its frame


@pytest.mark.parametrize("at", [(-6, -9), (37, 51), (105, 150)])
def test_every_inside_outside_pair_gives_one_boundary_point_edges_of_the_image_included(at):
    canvas = np.zeros((140 + 2 * 41, 200 + 2 * 61), bool)  # room for the blob past each edge
    canvas[41 + at[0]:82 + at[0], 61 + at[1]:122 + at[1]] = BLOB
    mask = canvas[41:181, 61:261]
    pairs = np.count_nonzero(mask[1:] != mask[:-1]) + np.count_nonzero(mask[:, 1:] != mask[:, :-1])
    assert len(mask_boundary_points(mask)) == pairs


def test_a_mask_moved_moves_its_boundary_points_by_as_much():
    mask = np.zeros((140, 200), bool)
    mask[37:78, 51:112] = BLOB
    assert np.array_equal(mask_boundary_points(mask) - [51, 37], mask_boundary_points(BLOB))
