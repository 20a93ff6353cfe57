"""Finding the ultrasound image inside a scanner screen, and the DICOM regions' rectangle."""

import cv2
import numpy as np
import pytest

from fetalview.core.model.imagearea import Box, find_image_area, image_area, regions_area
from fetalview.core.io.scans import list_scans
from fetalview.core.measure.pixelsize import CalibratedRegion, PixelSize
from training.screens import draw_screen


def _scan(samples_dir, index):
    return cv2.imread(str(list_scans(samples_dir)[index]), cv2.IMREAD_GRAYSCALE)


def _shifted(box, dx, dy):
    return Box(box.x0 + dx, box.y0 + dy, box.x1 + dx, box.y1 + dy)


@pytest.mark.parametrize("index", range(4))
def test_area_in_a_screen_is_the_scans_own_area_shifted(samples_dir, index):
    """Text, the grey-scale bar, depth ticks and the flat frame are left out: the area found in
    the screen is the very one found in the bare scan, moved by where the scan was pasted. (The
    texture window once spilt two pixels of flat grey UI into it, and the model, seeing them,
    moved HC by up to 5.3 mm on a validation scan.)"""
    scan = _scan(samples_dir, index)
    screen = draw_screen(scan, 0.15, np.random.default_rng(index))
    found = find_image_area(screen.pixels)
    assert found == _shifted(find_image_area(scan), screen.image.x0, screen.image.y0)


def test_a_bare_scan_keeps_its_textured_part(samples_dir):
    scan = _scan(samples_dir, 0)
    area = find_image_area(scan)
    assert area.width >= 0.6 * scan.shape[1] and area.height >= 0.6 * scan.shape[0]


def test_flat_or_tiny_content_gives_the_whole_image():
    flat = np.full((300, 400), 50, np.uint8)
    assert find_image_area(flat) == Box.whole(flat.shape)
    cv2.putText(flat, "MI 1.1 TIb 0.4", (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.6, 255, 1)
    assert find_image_area(flat) == Box.whole(flat.shape)


def test_dicom_regions_bound_the_search_and_stand_when_the_pixels_show_nothing():
    size = PixelSize(0.1, "test")
    regions = (CalibratedRegion((10, 20, 109, 119), size), CalibratedRegion((120, 20, 219, 119), size))
    assert regions_area(regions, (200, 300)) == Box(10, 20, 220, 120)
    pixels = np.zeros((200, 300), np.uint8)
    assert image_area(pixels, regions) == Box(10, 20, 220, 120)
    assert image_area(pixels) == Box.whole(pixels.shape)
    # a region reaching past the image is clipped to it
    assert regions_area((CalibratedRegion((250, 150, 400, 300), size),), (200, 300)) == \
        Box(250, 150, 300, 200)



def _sector(pixels):
    rows, cols = np.nonzero(pixels)
    return Box(int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1)


@pytest.mark.parametrize("index", range(4))
def test_the_same_pixels_find_the_same_area_in_any_dicom_region(samples_dir, index):
    """A DICOM's region says where calibration holds, not where the image is: scanners write
    the whole frame or the sector's bounding box. A whole-frame region once made the image area
    the whole frame (an HC18 scan measured 108.9 mm as a DICOM, 69.0 mm as a PNG); the area is
    now found in the pixels inside the region, the very one the bare scan gives."""
    scan = _scan(samples_dir, index)
    bare = find_image_area(scan)
    assert find_image_area(scan, Box.whole(scan.shape)) == bare
    assert find_image_area(scan, _sector(scan)) == bare
    screen = draw_screen(scan, 0.15, np.random.default_rng(index), mark_inside=False)
    assert find_image_area(screen.pixels, screen.image) == _shifted(bare, screen.image.x0,
                                                                   screen.image.y0)
