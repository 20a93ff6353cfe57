"""The bundled weights on real scans the model never trained on (validation subjects)."""

import cv2
import numpy as np
import pytest

from fetalview.core.io.hc18 import annotation_ellipse, annotation_path, read_pixel_size_csv
from fetalview.core.io.scans import list_scans, load_scan
from fetalview.core.measure.biometry import measure
from fetalview.core.measure.pixelsize import PixelSize


def _dice(a, b):
    a, b = a > 0, b > 0
    return 2 * np.count_nonzero(a & b) / (np.count_nonzero(a) + np.count_nonzero(b))


def _sample_scans(samples_dir):
    return list_scans(samples_dir)


def test_samples_are_bundled(samples_dir):
    assert len(_sample_scans(samples_dir)) >= 3


@pytest.mark.parametrize("index", range(3))
def test_bundled_model_segments_real_scan_like_its_annotation(segmenter, samples_dir, index):
    path = _sample_scans(samples_dir)[index]
    scan = load_scan(path)
    truth_ellipse = annotation_ellipse(cv2.imread(str(annotation_path(path)), 0))
    result = segmenter.segment(scan.pixels)
    assert result.status == "ok"
    assert _dice(result.mask, truth_ellipse.filled_mask(scan.shape)) >= 0.95
    reference = read_pixel_size_csv(samples_dir / "samples_pixel_size_and_HC.csv")[path.name]
    hc = measure(result.ellipse, PixelSize(reference["pixel_size_mm"], "test")).hc
    assert hc == pytest.approx(reference["hc_mm"], rel=0.03)


def test_rgb_and_16_bit_versions_of_a_scan_measure_alike(segmenter, samples_dir, tmp_path):
    path = _sample_scans(samples_dir)[0]
    gray = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    cv2.imwrite(str(tmp_path / "rgb.png"), cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR))
    cv2.imwrite(str(tmp_path / "deep.png"), gray.astype(np.uint16) * 257)
    base = segmenter.segment(gray).ellipse.perimeter()
    for name in ("rgb.png", "deep.png"):
        scan = load_scan(tmp_path / name)
        assert scan.pixels.dtype == np.uint8 and scan.pixels.ndim == 2
        assert segmenter.segment(scan.pixels).ellipse.perimeter() == pytest.approx(base, rel=0.01)


def test_segmenter_accepts_rgb_and_16_bit_arrays_directly(segmenter, samples_dir):
    gray = cv2.imread(str(_sample_scans(samples_dir)[1]), cv2.IMREAD_GRAYSCALE)
    base = segmenter.segment(gray).ellipse.perimeter()
    for array in (np.dstack([gray] * 3), gray.astype(np.uint16) * 257):
        assert segmenter.segment(array).ellipse.perimeter() == pytest.approx(base, rel=0.01)


def test_blank_scan_has_no_head(segmenter):
    result = segmenter.segment(np.zeros((540, 800), np.uint8))
    assert result.status == "no_head" and result.ellipse is None and result.confidence == 0.0


def test_model_version_names_the_weights_hash(segmenter):
    assert segmenter.model_version.startswith("resunet-") and len(segmenter.model_version) == 20
