"""The outer-to-inner BPD suggestion: leading edges found on a synthetic skull of known
thickness and on a real HC18 scan."""

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest

from fetalview.core.measure.geometry import Ellipse, fit_ellipse
from fetalview.core.measure.skull_edges import short_axis_ends, suggest_bpd_outer_inner

SAMPLES = Path(__file__).resolve().parents[1] / "resources" / "samples"


def synthetic_head(thickness: float, angle: float = 0.0, seed: int = 0):
    """A bright elliptical skull ``thickness`` px thick (along the short axis) in speckle;
    returns the image and the ellipse on its outer edge."""
    outer = Ellipse(400.0, 270.0, 200.0, 150.0, angle)
    inner = Ellipse(400.0, 270.0, 200.0 - thickness, 150.0 - thickness, angle)
    rng = np.random.default_rng(seed)
    image = rng.normal(25, 6, (540, 800))
    ring = (outer.filled_mask((540, 800), 4) / 255.0) - (inner.filled_mask((540, 800), 4) / 255.0)
    image += 170 * ring + 20 * inner.filled_mask((540, 800), 4) / 255.0
    image = cv2.GaussianBlur(image, (0, 0), 1.5)
    return np.clip(image, 0, 255).astype(np.uint8), outer


@pytest.mark.parametrize("thickness", [6.0, 12.0, 20.0])
@pytest.mark.parametrize("angle", [0.0, 25.0])
def test_suggestion_finds_near_outer_and_far_inner_edge(thickness, angle):
    image, e = synthetic_head(thickness, angle)
    near, far = suggest_bpd_outer_inner(image, e)
    true_near, true_far = short_axis_ends(e)
    inward = (true_near - true_far) / np.linalg.norm(true_near - true_far)
    assert np.hypot(*(np.array(near) - true_near)) < 1.0
    assert np.hypot(*(np.array(far) - (true_far + thickness * inward))) < 1.0
    assert np.hypot(*(np.array(far) - np.array(near))) == pytest.approx(2 * 150 - thickness,
                                                                        abs=1.5)


def test_near_skull_is_the_one_nearer_the_probe_at_the_top():
    image, e = synthetic_head(10.0)
    near, far = suggest_bpd_outer_inner(image, e)
    assert near[1] < far[1]


def test_no_skull_echo_gives_no_suggestion():
    flat = np.full((540, 800), 30, np.uint8)
    assert suggest_bpd_outer_inner(flat, Ellipse(400, 270, 200, 150, 0)) is None


@pytest.mark.parametrize("name", ["249_HC", "796_2HC"])
def test_real_scan_suggestion_lies_on_the_skull(name):
    """On a real scan with the sonographer's ellipse (HC18 places it on the outer edge), the
    near caliper stays on that outer edge and the far one moves in by a skull's thickness."""
    scan = cv2.imread(str(SAMPLES / f"{name}.png"), cv2.IMREAD_GRAYSCALE)
    ring = cv2.imread(str(SAMPLES / f"{name}_Annotation.png"), cv2.IMREAD_GRAYSCALE)
    ys, xs = np.nonzero(ring)
    e = fit_ellipse(np.stack([xs, ys], axis=1))
    with open(SAMPLES / "samples_pixel_size_and_HC.csv", newline="") as f:
        mm = {r["filename"]: float(r["pixel size(mm)"]) for r in csv.DictReader(f)}[f"{name}.png"]
    near, far = suggest_bpd_outer_inner(scan, e)
    ref_near, ref_far = short_axis_ends(e)
    assert np.hypot(*(np.array(near) - ref_near)) * mm < 1.0  # within a mm of the outer edge
    skull = (2 * e.minor - np.hypot(*(np.array(far) - np.array(near)))) * mm
    assert 0.5 < skull < 5.0, skull  # a fetal skull's echo, not the midline or the other side
    # the far caliper sits where the skull's echo starts: darker just before, bright after
    u = (ref_far - ref_near) / np.linalg.norm(ref_far - ref_near)
    before = scan[tuple(np.round(np.array(far) - 4 * u).astype(int)[::-1])]
    after = scan[tuple(np.round(np.array(far) + 3 * u).astype(int)[::-1])]
    assert int(after) > int(before) + 30
