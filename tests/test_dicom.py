"""DICOM loading: files are built here with pydicom itself, no downloaded data."""

from __future__ import annotations

import io

import re

import numpy as np
import pydicom
import pytest
from dicomfiles import COLS, ROWS, gradient, jpeg_dicom, make_dicom, region
from pydicom.encaps import encapsulate
from pydicom.pixels import convert_color_space
from pydicom.uid import JPEGBaseline8Bit, RLELossless

from fetalview.core.io import dicom
from fetalview.core.batch import Outputs, PixelSizeBook, measure_one
from fetalview.core.measure.geometry import Ellipse
from fetalview.core.io.scans import ScanLoadError, is_scan_file, list_scans, load_scan
from fetalview.core.measure.pixelsize import PixelSize
from fetalview.core.model.segmentation import Segmentation


# --- images -------------------------------------------------------------------------------

def test_single_frame_monochrome2_with_patient_fields(tmp_path):
    scan = load_scan(make_dicom(tmp_path / "a.dcm", gradient()))
    assert scan.pixels.dtype == np.uint8 and scan.shape == (ROWS, COLS)
    np.testing.assert_array_equal(scan.pixels, gradient())
    assert scan.metadata == {"patient_name": "Doe Jane", "patient_id": "PID-0042",
                             "exam_date": "2026-03-15", "frames": 1, "frame": 0}
    assert "DICOM US" in scan.description
    assert scan.pixel_size is None


def test_the_report_header_fields_are_read_birth_date_facility_and_operators(tmp_path):
    """The report's header (issue 19) names the birth date, facility and operator: only
    name, ID and exam date were read."""
    path = make_dicom(tmp_path / "a.dcm", gradient())
    ds = pydicom.dcmread(path)
    ds.PatientBirthDate = "19900402"
    ds.InstitutionName = "St Elsewhere^Hospital"
    ds.OperatorsName = ["Smith^Ann", "Lee^Bo"]
    ds.save_as(path)
    metadata = load_scan(path).metadata
    assert (metadata["birth_date"], metadata["facility"], metadata["operator"]) == (
        "1990-04-02", "St Elsewhere Hospital", "Smith Ann, Lee Bo")


def test_monochrome1_is_inverted(tmp_path):
    scan = load_scan(make_dicom(tmp_path / "a.dcm", gradient(), "MONOCHROME1"))
    np.testing.assert_array_equal(scan.pixels, 255 - gradient())


def test_rgb_and_ybr_full_become_the_same_gray(tmp_path):
    rgb = np.zeros((ROWS, COLS, 3), np.uint8)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = gradient(), 255 - gradient(), 90
    from_rgb = load_scan(make_dicom(tmp_path / "rgb.dcm", rgb, "RGB")).pixels
    ybr = convert_color_space(rgb, "RGB", "YBR_FULL")
    from_ybr = load_scan(make_dicom(tmp_path / "ybr.dcm", ybr, "YBR_FULL")).pixels
    expected = np.rint(rgb @ np.array([0.299, 0.587, 0.114]))
    assert np.abs(from_rgb - expected).max() <= 1
    assert np.abs(from_ybr.astype(int) - from_rgb).max() <= 2


def test_jpeg_baseline_ybr_full_422(tmp_path):
    pytest.importorskip("libjpeg")  # pylibjpeg-libjpeg: decodes JPEG in pydicom
    from PIL import Image

    rgb = np.repeat(gradient()[..., None], 3, axis=2)
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", quality=95, subsampling=1)  # 4:2:2
    path = make_dicom(tmp_path / "jpeg.dcm", rgb, "RGB")
    ds = pydicom.dcmread(path)
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    ds.PhotometricInterpretation = "YBR_FULL_422"
    ds.PixelData = encapsulate([buffer.getvalue()])
    ds["PixelData"].VR = "OB"
    ds.save_as(path, enforce_file_format=True)
    scan = load_scan(path)
    assert "JPEG Baseline" in scan.description
    assert np.abs(scan.pixels.astype(int) - gradient()).max() <= 4


def test_multi_frame_loads_the_asked_frame(tmp_path):
    cine = np.stack([gradient(i) for i in range(5)])
    path = make_dicom(tmp_path / "cine.dcm", cine)
    for frame in (0, 3):
        scan = load_scan(path, frame=frame)
        assert scan.metadata["frames"] == 5 and scan.metadata["frame"] == frame
        np.testing.assert_array_equal(scan.pixels, gradient(frame))
    with pytest.raises(ScanLoadError, match="frame 5 does not exist"):
        load_scan(path, frame=5)


def test_rle_compressed_cine(tmp_path):
    cine = np.stack([gradient(i) for i in range(3)])
    path = make_dicom(tmp_path / "rle.dcm", cine)
    ds = pydicom.dcmread(path)
    ds.compress(RLELossless)
    ds.save_as(path, enforce_file_format=True)
    np.testing.assert_array_equal(load_scan(path, frame=2).pixels, gradient(2))


def test_found_without_a_suffix_and_never_modified(tmp_path):
    path = make_dicom(tmp_path / "IM0001", gradient())
    before = path.read_bytes()
    (tmp_path / "notes").write_text("not a scan")
    assert is_scan_file(path) and list_scans(tmp_path) == [path]
    load_scan(path)
    assert path.read_bytes() == before


# --- pixel size ---------------------------------------------------------------------------

def test_region_holding_the_centre_gives_the_pixel_size_in_mm(tmp_path):
    regions = [region(0, 0, 20, 10, 0.05),  # a small 2-D region away from the centre
               region(0, 36, 63, 47, 0.01, units=4),  # a time axis (Doppler strip): skipped
               region(8, 4, 60, 44, 0.015)]  # the image: 0.015 cm = 0.15 mm
    scan = load_scan(make_dicom(tmp_path / "a.dcm", gradient(), regions=regions,
                                pixel_spacing=[0.3, 0.3]))
    assert scan.pixel_size.mm_per_pixel == pytest.approx(0.15)
    assert scan.pixel_size.source == dicom.SOURCE_REGION


def split_screen(tmp_path):
    """Two images side by side, scanned at different depths; the image centre lies between."""
    regions = [region(0, 0, 29, 47, 0.01),  # left: 0.1 mm per pixel
               region(34, 0, 63, 47, 0.02)]  # right: 0.2 mm per pixel
    return make_dicom(tmp_path / "split.dcm", gradient(), regions=regions)


def test_split_screen_measures_with_the_calibration_where_the_head_is(tmp_path):
    scan = load_scan(split_screen(tmp_path))
    assert scan.pixel_size is None  # nothing calibrates the centre: no figure until the head
    def at(x, y):
        return scan.pixel_size_for(Ellipse(x, y, 8, 6, 0), None)

    assert at(10, 20).mm_per_pixel == pytest.approx(0.1)
    assert at(50, 20).mm_per_pixel == pytest.approx(0.2)
    assert at(50, 20).source == dicom.SOURCE_REGION
    assert at(31, 20) is None
    typed = PixelSize(0.3, "typed by user")
    assert scan.pixel_size_for(Ellipse(10, 20, 8, 6, 0), typed) == typed  # the user's stays


class HeadAt:
    """Stands in for the network: a head of known size centred at (cx, cy)."""

    model_version = "fake"

    def __init__(self, cx, cy):
        self.ellipse = Ellipse(cx, cy, 8, 6, 0)

    def segment(self, pixels, pixel_size=None, regions=()):
        return Segmentation(np.zeros(pixels.shape, np.uint8), None, self.ellipse, 0.99,
                            self.model_version, 0.5, pixel_size)


@pytest.mark.parametrize("cx, mm_per_pixel", [(12, 0.1), (48, 0.2)])
def test_batch_measures_a_split_screen_in_the_head_s_region(tmp_path, cx, mm_per_pixel):
    row = measure_one(HeadAt(cx, 24), split_screen(tmp_path), PixelSizeBook(), Outputs())
    assert float(row["pixel_size_mm"]) == pytest.approx(mm_per_pixel)
    perimeter_px = Ellipse(cx, 24, 8, 6, 0).perimeter()
    assert float(row["hc_mm"]) == pytest.approx(perimeter_px * mm_per_pixel, abs=0.01)


def test_pixel_spacing_then_imager_pixel_spacing(tmp_path):
    scan = load_scan(make_dicom(tmp_path / "a.dcm", gradient(), regions=[region(0, 0, 5, 5, 0.1)],
                                pixel_spacing=[0.2, 0.2]))
    assert scan.pixel_size.mm_per_pixel == pytest.approx(0.2)
    assert scan.pixel_size.source == dicom.SOURCE_PIXEL_SPACING
    ds = pydicom.dcmread(make_dicom(tmp_path / "b.dcm", gradient()))
    ds.ImagerPixelSpacing = [0.25, 0.25]
    ds.save_as(tmp_path / "b.dcm", enforce_file_format=True)
    scan = load_scan(tmp_path / "b.dcm")
    assert scan.pixel_size.mm_per_pixel == pytest.approx(0.25)
    assert scan.pixel_size.source == dicom.SOURCE_IMAGER_SPACING


def test_non_square_pixels_are_not_used(tmp_path):
    r = region(0, 0, 63, 47, 0.015)
    r.PhysicalDeltaY = 0.02
    scan = load_scan(make_dicom(tmp_path / "a.dcm", gradient(), regions=[r]))
    assert scan.pixel_size is None


# --- broken files -------------------------------------------------------------------------

@pytest.mark.parametrize("regions, spacing, said", [
    ([region(0, 0, 63, 47, 0)], [0.2, 0.2], "region 1 gives 0 mm per pixel"),
    ([region(0, 0, 63, 47, 0.01), region(0, 0, 63, 47, 50)], None, "region 2 gives 500 mm"),
    (None, [150, 150], "Pixel Spacing gives 150 mm per pixel"),
    (None, [0.1, 150], "Pixel Spacing gives 150 mm per pixel"),
    (None, [0.001, 0.001], "Pixel Spacing gives 0.001 mm per pixel")])
def test_an_implausible_calibration_is_not_used_and_said(tmp_path, regions, spacing, said):
    """The scan is measured in pixels: neither the implausible figure nor another of the
    file's (the Pixel Spacing behind a broken region) is used."""
    scan = load_scan(make_dicom(tmp_path / "a.dcm", gradient(), regions=regions,
                                pixel_spacing=spacing))
    assert scan.pixel_size is None and scan.regions == ()
    note, = scan.notes
    assert said in note and "implausible for ultrasound" in note


def test_an_unreadable_calibration_is_refused(tmp_path):
    r = region(0, 0, 63, 47, 0.01)
    del r.PhysicalUnitsXDirection
    with pytest.raises(ScanLoadError, match="region 1 .* incomplete"):
        load_scan(make_dicom(tmp_path / "units.dcm", gradient(), regions=[r]))


def test_missing_pixel_data(tmp_path):
    path = make_dicom(tmp_path / "empty.dcm", gradient(), with_pixels=False)
    with pytest.raises(ScanLoadError, match="empty.dcm: .*no pixel data"):
        load_scan(path)


@pytest.mark.parametrize("keep", [0.4, 0.9])
def test_truncated_file(tmp_path, keep):
    """Said in words (what the file lacks, what to do), not as numpy's reshape text."""
    path = make_dicom(tmp_path / "cut.dcm", np.stack([gradient(i) for i in range(4)]))
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])
    with pytest.raises(ScanLoadError, match="cut.dcm: the DICOM file is cut short: its pixel "
                       r"data holds [\d,]+ of the 12,288 bytes its 4 frames need \(\d+%\), so "
                       "frame 3 is incomplete. .*copy it again") as raised:
        load_scan(path, frame=3)
    assert not re.search("reshape|array|shape|size", str(raised.value))


def test_truncated_single_frame_says_what_is_missing_in_words(tmp_path):
    whole = make_dicom(tmp_path / "whole.dcm", gradient()).read_bytes()
    path = tmp_path / "cut.dcm"
    path.write_bytes(whole[: len(whole) - 1500])
    with pytest.raises(ScanLoadError) as raised:
        load_scan(path)
    assert str(raised.value) == (
        "cut.dcm: the DICOM file is cut short: its pixel data holds 1,572 of the 3,072 bytes "
        "its image needs (51%). It was probably copied or downloaded only in part: copy it "
        "again from the scanner or the PACS.")


def test_not_dicom_despite_the_suffix(tmp_path):
    path = tmp_path / "fake.dcm"
    path.write_bytes(b"hello" * 100)
    with pytest.raises(ScanLoadError, match="fake.dcm: not a DICOM file"):
        load_scan(path)


def test_frame_of_a_plain_image_is_refused(tmp_path):
    from PIL import Image

    Image.fromarray(gradient()).save(tmp_path / "a.png")
    assert load_scan(tmp_path / "a.png").metadata == {}
    with pytest.raises(ScanLoadError, match="only DICOM"):
        load_scan(tmp_path / "a.png", frame=1)


def test_burned_in_annotation_is_known(tmp_path):
    assert load_scan(make_dicom(tmp_path / "a.dcm", gradient(), burned_in="YES")).burned_in
    assert not load_scan(make_dicom(tmp_path / "b.dcm", gradient(), burned_in="NO")).burned_in
    assert not load_scan(make_dicom(tmp_path / "c.dcm", gradient())).burned_in


@pytest.mark.parametrize("cut", [0.5, 0.8])
def test_a_damaged_jpeg_frame_is_refused(tmp_path, cut):
    """Cut short and closed with an end marker, or with bytes overwritten: pydicom's decoders
    return a picture without a word; the strict check refuses it."""
    from PIL import Image

    whole = io.BytesIO()
    Image.fromarray(np.tile(gradient(), (4, 4))).save(whole, "JPEG", quality=90)
    data = whole.getvalue()
    good = load_scan(jpeg_dicom(tmp_path / "good.dcm", data, (4 * ROWS, 4 * COLS)))
    assert np.abs(good.pixels.astype(int) - np.tile(gradient(), (4, 4))).max() <= 8
    at = int(len(data) * cut)
    damaged = {"cut.dcm": data[:at] + b"\xff\xd9",
               "overwritten.dcm": data[:at] + bytes(40) + data[at + 40:]}
    for name, jpeg in damaged.items():
        with pytest.raises(ScanLoadError, match=f"{name}: its JPEG pixel data is damaged"):
            load_scan(jpeg_dicom(tmp_path / name, jpeg, (4 * ROWS, 4 * COLS)))
