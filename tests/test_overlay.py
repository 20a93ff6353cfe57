"""The exported image: the scan's pixels untouched but for a thin contour and labelled calipers,
the caption in a band below."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from fetalview.core.measure.geometry import Ellipse, fit_ellipse
from fetalview.core.results.overlay import (ACCENT_BGR, CROSS_PX, ELLIPSE_BGR, WARNING_BGR, _label_scale, label_box,
                                    render_overlay)

SAMPLES = Path(__file__).resolve().parents[1] / "resources" / "samples"
LINES = ["HC  180.0 mm", "a much longer caption line that takes room " * 3] * 4


def _near_segment(shape, p, q, reach):
    mask = np.zeros(shape, np.uint8)
    cv2.line(mask, tuple(int(round(v)) for v in p), tuple(int(round(v)) for v in q), 1,
             2 * reach + 1)
    return mask.astype(bool)


def test_image_region_is_the_scan_except_the_thin_contour_and_calipers():
    scan = cv2.imread(str(SAMPLES / "249_HC.png"), cv2.IMREAD_GRAYSCALE)
    ring = cv2.imread(str(SAMPLES / "249_HC_Annotation.png"), cv2.IMREAD_GRAYSCALE)
    ys, xs = np.nonzero(ring)
    e = fit_ellipse(np.stack([xs, ys], axis=1))
    (a0, a1), (b0, b1) = e.axis_endpoints()
    calipers = [("BPD", tuple(b0), tuple(b1)), ("OFD", tuple(a0), tuple(a1)),
                ("D1", (100.0, 100.0), (160.0, 130.0))]
    image = render_overlay(scan, e, LINES, calipers=calipers, warnings=["REVIEW: check"])
    h, w = scan.shape
    assert image.shape[0] > h and image.shape[1] == w  # a band below, the image at full size
    region = image[:h].astype(int)
    changed = (np.abs(region - scan[..., None].astype(int)).max(axis=2) > 0)
    allowed = np.zeros((h, w), bool)
    pts = e.points(720)
    for p, q in zip(pts, np.roll(pts, 1, axis=0)):
        allowed |= _near_segment((h, w), p, q, 1)
    scale = _label_scale(image[:h])
    for label, p, q in calipers:
        allowed |= _near_segment((h, w), p, q, 2)
        for end in (p, q):
            allowed[int(end[1]) - CROSS_PX - 2:int(end[1]) + CROSS_PX + 3,
                    int(end[0]) - CROSS_PX - 2:int(end[0]) + CROSS_PX + 3] = True
        x0, y0, x1, y1 = label_box(p, q, label, scale)
        allowed[max(0, y0 - 2):y1 + 3, max(0, x0 - 2):x1 + 3] = True
    assert changed.any() and not (changed & ~allowed).any()
    assert changed.mean() < 0.02  # thin: the skull edge under the contour stays visible
    band = image[h:]
    assert (band != band[0, 0]).any()  # the caption is written there
    assert (np.abs(band.astype(int) - WARNING_BGR).sum(axis=2) < 10).sum() > 1000  # amber box


def test_the_review_state_stands_out_in_the_caption():
    scan = np.zeros((200, 400), np.uint8)
    lines = ["HC 1 mm", "automatic (not reviewed)", "model m"]
    plain = render_overlay(scan, Ellipse(200, 100, 60, 40, 0), lines)
    marked = render_overlay(scan, Ellipse(200, 100, 60, 40, 0), lines,
                            highlight="automatic (not reviewed)")
    accent = (np.abs(marked[200:].astype(int) - ACCENT_BGR).sum(axis=2) < 10)
    assert accent.sum() > 500 and not (np.abs(plain[200:].astype(int) - ACCENT_BGR)
                                       .sum(axis=2) < 10).any()
    rows = np.nonzero(accent.any(axis=1))[0]
    assert rows.max() - rows.min() < 40  # one line's box, not the whole band


@pytest.mark.parametrize("centre", [(150, 120), (650, 120), (150, 420), (650, 420)])
def test_the_contour_is_drawn_wherever_the_head_lies(centre):
    scan = np.full((540, 800), 90, np.uint8)
    e = Ellipse(*centre, 120, 90, 15)
    image = render_overlay(scan, e, LINES)
    pts = np.round(e.points(180)).astype(int)
    pts = pts[(pts[:, 0] >= 0) & (pts[:, 0] < 800) & (pts[:, 1] >= 0) & (pts[:, 1] < 540)]
    colours = image[pts[:, 1], pts[:, 0]].astype(int)
    greenish = np.abs(colours - np.array(ELLIPSE_BGR)).sum(axis=1) < 160
    assert greenish.mean() > 0.8
    assert (image[:540] == 90).all(axis=2).mean() > 0.98  # nothing else written on the scan


def test_without_lines_there_is_no_band_and_the_scan_is_untouched():
    scan = np.random.default_rng(0).integers(0, 255, (300, 400), dtype=np.uint8)
    copy = scan.copy()
    image = render_overlay(scan, Ellipse(200, 150, 80, 60, 0), [])
    assert image.shape == (300, 400, 3)
    assert (scan == copy).all()


def test_long_caption_lines_wrap_inside_a_narrow_band():
    scan = np.zeros((120, 160), np.uint8)
    image = render_overlay(scan, Ellipse(80, 60, 40, 30, 0), ["word " * 40])
    band = image[120:]
    assert band.shape[0] > 60  # several lines, not one line cut off at the edge


def test_a_file_name_that_is_not_utf8_is_drawn_not_a_crash():
    """A Latin-1 name (bytes kept as a lone surrogate) segfaulted OpenCV's text functions:
    exporting such a scan's PNG killed the app. It is drawn with a "?" instead."""
    import os

    name = os.fsdecode(b"caf\xe9.png")
    scan = np.full((200, 300), 90, np.uint8)
    plain = render_overlay(scan, Ellipse(150, 100, 60, 40, 0), ["caf?.png"], warnings=["?"])
    assert (render_overlay(scan, Ellipse(150, 100, 60, 40, 0), [name], warnings=["é"])
            == plain).all()


def test_the_contour_is_amber_while_the_result_awaits_review():
    scan = np.full((200, 300), 40, np.uint8)
    e = Ellipse(150, 100, 80, 60, 0)
    on_contour = np.round(e.points(60)).astype(int)

    def contour_colours(image):
        return image[on_contour[:, 1], on_contour[:, 0]].astype(int)

    for doubtful, colour in ((False, ELLIPSE_BGR), (True, WARNING_BGR)):
        colours = contour_colours(render_overlay(scan, e, ["HC"], doubtful=doubtful))
        near = np.abs(colours - np.array(colour)).sum(axis=1) < 150
        assert near.mean() > 0.8, (doubtful, colours[:5])
