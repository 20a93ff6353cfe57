"""Locate, then delineate: windows map back to the scan's own pixels exactly, and a real scan
measures the same bare, pasted into a frame, and inside a scanner screen (PNG and DICOM)."""

import cv2
import numpy as np
import pytest

from fetalview.core.measure.geometry import Ellipse
from fetalview.core.io.hc18 import read_pixel_size_csv
from fetalview.core.model.imagearea import Box
from fetalview.core.io.scans import list_scans, load_scan
from fetalview.core.model.postprocess import head_region
from fetalview.core.model.twopass import Window, head_window, scan_logits
from training.screens import draw_screen, write_dicom

GRID = (256, 384)


def _brightness_logits(grid_image):
    """A stand-in network: 'head' wherever the grid is bright, with soft edges like a model's."""
    return (grid_image.astype(np.float32) - 127.5) / 8.0


def _disc_scan(shape, ellipse):
    return cv2.GaussianBlur(ellipse.filled_mask(shape, supersample=4), (0, 0), 1.0)


@pytest.mark.parametrize("passes", [1, 2])
def test_both_passes_map_back_to_scan_pixels_exactly(passes):
    truth = Ellipse(300.4, 210.7, 61.3, 44.9, 27.0)
    pixels = _disc_scan((540, 800), truth)
    calls = []

    def backend(grid_image):
        calls.append(grid_image.shape)
        return _brightness_logits(grid_image)

    found = head_region(scan_logits(backend, pixels, Box.whole(pixels.shape), GRID, passes))
    assert calls == [GRID] * passes  # the small head earns its second pass
    e = found.ellipse
    tolerance = 0.5 if passes == 1 else 0.15  # the second pass sees the head 2x larger
    assert abs(e.cx - truth.cx) < tolerance and abs(e.cy - truth.cy) < tolerance
    assert e.perimeter() == pytest.approx(truth.perimeter(), abs=2 * tolerance * np.pi)


def test_the_second_pass_is_skipped_when_it_would_gain_no_pixels():
    big = Ellipse(400, 270, 380, 250, 0.0)
    calls = []
    scan_logits(lambda g: calls.append(1) or _brightness_logits(g), _disc_scan((540, 800), big),
                Box.whole((540, 800)), GRID, passes=2)
    assert len(calls) == 1


def test_head_window_has_the_grid_shape_a_margin_and_a_zoom_limit():
    area = Box(0, 0, 800, 540)
    w = head_window(Ellipse(100, 100, 60, 40, 90.0), area, GRID)
    assert w.box.width / w.box.height == pytest.approx(1.5, abs=0.02)
    # axis a points down: the box is 2 * 60 * 1.25 = 150 px high at least
    assert w.box.height >= 150 and w.box.x0 < 100 - 40 and w.box.y0 < 100 - 60
    assert w.scale <= 1.0 + 1e-9  # never enlarged past the scan's own pixels


def test_pixels_outside_the_area_are_blank_to_the_model():
    pixels = np.full((100, 150), 200, np.uint8)
    grid = Window(Box(0, 0, 150, 100), Box(50, 0, 150, 100), (100, 150)).to_grid(pixels)
    assert grid[:, :50].max() == 0 and grid[:, 50:].min() == 200


def _sample(samples_dir, index):
    path = list_scans(samples_dir)[index]
    reference = read_pixel_size_csv(samples_dir / "samples_pixel_size_and_HC.csv")[path.name]
    return load_scan(path).pixels, reference["pixel_size_mm"]


def _assert_shifted(result, bare, dx, dy):
    e, b = result.ellipse, bare.ellipse
    assert e.cx == pytest.approx(b.cx + dx, abs=1.5) and e.cy == pytest.approx(b.cy + dy, abs=1.5)
    assert e.perimeter() == pytest.approx(b.perimeter(), rel=0.005)
    assert result.status == bare.status


@pytest.fixture(scope="module")
def two_pass():
    from fetalview.core.model.segmenter import Segmenter
    return Segmenter(device="cpu", passes=2)


@pytest.mark.parametrize("index, passes", [(0, 1), (2, 1), (2, 2), (3, 2)])
def test_scan_pasted_into_a_larger_frame_gives_the_same_ellipse_shifted(segmenter, two_pass,
                                                                        samples_dir, index,
                                                                        passes):
    segmenter = segmenter if passes == 1 else two_pass
    assert segmenter.passes == passes
    pixels, _ = _sample(samples_dir, index)
    bare = segmenter.segment(pixels)
    frame = np.full((900, 1300), 60, np.uint8)
    dy, dx = 211, 333
    frame[dy:dy + pixels.shape[0], dx:dx + pixels.shape[1]] = pixels
    _assert_shifted(segmenter.segment(frame), bare, dx, dy)


def test_scanner_screen_as_png_and_as_dicom_measures_like_the_bare_scan(segmenter, samples_dir,
                                                                        tmp_path):
    pixels, mm = _sample(samples_dir, 1)
    bare = segmenter.segment(pixels)
    screen = draw_screen(pixels, mm, np.random.default_rng(7))
    dx, dy = screen.image.x0, screen.image.y0
    _assert_shifted(segmenter.segment(screen.pixels), bare, dx, dy)
    scan = load_scan(write_dicom(tmp_path / "screen.dcm", screen))
    assert scan.pixel_size.mm_per_pixel == pytest.approx(mm)
    _assert_shifted(segmenter.segment(scan.pixels, scan.pixel_size, scan.regions), bare, dx, dy)


def test_fetalview_measure_reads_the_region_of_a_screen_dicom(segmenter, samples_dir, tmp_path):
    """The batch passes the file's ultrasound region on: HC in mm from the region's calibration,
    as the bare scan with its known pixel size."""
    from fetalview.core.batch import Outputs, PixelSizeBook, measure_one
    from fetalview.core.measure.biometry import measure
    from fetalview.core.measure.pixelsize import PixelSize

    pixels, mm = _sample(samples_dir, 2)
    bare = measure(segmenter.segment(pixels).ellipse, PixelSize(mm, "test")).hc
    path = write_dicom(tmp_path / "screen.dcm", draw_screen(pixels, mm, np.random.default_rng(3)))
    row = measure_one(segmenter, path, PixelSizeBook(), Outputs())
    assert float(row["pixel_size_mm"]) == pytest.approx(mm)
    assert float(row["hc_mm"]) == pytest.approx(bare, rel=0.005)
