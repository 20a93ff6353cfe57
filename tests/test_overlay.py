import numpy as np
import pytest

from fetalview.core.geometry import Ellipse
from fetalview.core.overlay import ELLIPSE_BGR, render_overlay

LINES = ["HC  180.0 mm", "a much longer caption line that takes room " * 2] * 4


@pytest.mark.parametrize("centre", [(150, 120), (650, 120), (150, 420), (650, 420)])
def test_caption_never_hides_the_contour(centre):
    scan = np.full((540, 800), 90, np.uint8)
    e = Ellipse(*centre, 120, 90, 15)
    image = render_overlay(scan, e, LINES)
    pts = np.round(e.points(180)).astype(int)
    pts = pts[(pts[:, 0] >= 0) & (pts[:, 0] < 800) & (pts[:, 1] >= 0) & (pts[:, 1] < 540)]
    colours = image[pts[:, 1], pts[:, 0]].astype(int)
    greenish = np.abs(colours - np.array(ELLIPSE_BGR)).sum(axis=1) < 120
    assert greenish.mean() > 0.9
    darkened = (image == (np.array([90, 90, 90]) * 0.35).astype(np.uint8)).all(axis=2)
    assert darkened.sum() > 1000  # the caption box is there


def test_overlay_keeps_full_resolution_and_leaves_the_scan_untouched():
    scan = np.random.default_rng(0).integers(0, 255, (300, 400), dtype=np.uint8)
    copy = scan.copy()
    image = render_overlay(scan, Ellipse(200, 150, 80, 60, 0), ["HC 1 mm"])
    assert image.shape == (300, 400, 3)
    assert (scan == copy).all()


def test_a_file_name_that_is_not_utf8_is_drawn_not_a_crash():
    """A Latin-1 name (bytes kept as a lone surrogate) segfaulted OpenCV's text functions:
    exporting such a scan's PNG killed the app. It is drawn with a "?" instead."""
    import os

    from fetalview.core.overlay import add_caption_band
    name = os.fsdecode(b"caf\xe9.png")
    scan = np.full((200, 300), 90, np.uint8)
    plain = render_overlay(scan, Ellipse(150, 100, 60, 40, 0), ["caf?.png"])
    assert (render_overlay(scan, Ellipse(150, 100, 60, 40, 0), [name]) == plain).all()
    assert add_caption_band(np.zeros((50, 80, 3), np.uint8), [name, "é"]).shape[0] > 50
