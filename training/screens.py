"""Scanner screens: a scan drawn, at its own pixel scale, into what a clinic's export or
screenshot holds, to measure (and later train) fetalview on real scanner output.

A screen is about 1280x960: a flat grey UI frame with a darker header, burned-in text
(settings, dates, MI/TI, probe, a caliper readout), a grey-scale bar and depth-scale ticks with
numbers beside the image, and a stray caliper mark with its number inside the image. Every
choice comes from the generator given, so a seed gives the same screen every time.

The same screen is written as a DICOM whose Sequence of Ultrasound Regions names the image
rectangle and its calibration, and as a plain PNG screenshot.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from fetalview.core.model.imagearea import Box

SCREEN_SHAPE = (960, 1280)
FONT = cv2.FONT_HERSHEY_SIMPLEX


@dataclass(frozen=True)
class Screen:
    pixels: np.ndarray  # uint8 (rows, cols)
    image: Box  # where the scan lies, at its own scale
    pixel_size_mm: float


def _text(canvas: np.ndarray, text: str, x: int, y: int, scale: float, level: int) -> None:
    cv2.putText(canvas, text, (x, y), FONT, scale, int(level), 1, cv2.LINE_AA)


def _settings_lines(rng: np.random.Generator) -> list[str]:
    day = int(rng.integers(1, 29))
    return [f"{day:02d}/{int(rng.integers(1, 13)):02d}/2026 "
            f"{int(rng.integers(7, 19)):02d}:{int(rng.integers(0, 60)):02d}:"
            f"{int(rng.integers(0, 60)):02d}",
            f"C{int(rng.integers(1, 6))}-1  OB/GYN  Fetal Head",
            f"MI {rng.uniform(0.4, 1.3):.1f}  TIb {rng.uniform(0.1, 0.9):.1f}",
            f"Gn {int(rng.integers(40, 70))}  DR {int(rng.integers(50, 80))}  "
            f"FR {int(rng.integers(15, 45))} Hz",
            f"Frq {rng.uniform(2.0, 5.0):.1f} MHz  PWR {int(rng.integers(80, 101))}%"]


def draw_screen(scan: np.ndarray, pixel_size_mm: float, rng: np.random.Generator,
                mark_inside: bool = True) -> Screen:
    """``scan`` (uint8 grayscale) inside a scanner screen; ``rng`` makes every choice. Without
    ``mark_inside`` the scan's own pixels are left whole (no caliper mark burned into them)."""
    rows, cols = SCREEN_SHAPE
    h, w = scan.shape
    background = int(rng.integers(30, 75))
    canvas = np.full((rows, cols), background, np.uint8)
    header = 48
    canvas[:header] = max(background - 20, 0)
    level = int(rng.integers(190, 256))
    # the image sits right of a left text panel, below the header, with room for the ticks
    x0 = int(rng.integers(250, max(251, cols - w - 70)))
    y0 = int(rng.integers(header + 30, max(header + 31, rows - h - 40)))
    canvas[y0:y0 + h, x0:x0 + w] = scan
    image = Box(x0, y0, x0 + w, y0 + h)

    _text(canvas, "fetalview test site  Dr. A. Example", 16, 32, 0.7, level)
    _text(canvas, f"ID {int(rng.integers(10**6, 10**7))}", cols - 220, 32, 0.7, level)
    for i, line in enumerate(_settings_lines(rng)):
        _text(canvas, line, 16, header + 40 + 26 * i, 0.55, level)
    hc = rng.uniform(60.0, 340.0)
    _text(canvas, f"1 HC {hc:.1f} mm", 16, rows - 60, 0.6, level)
    _text(canvas, f"Depth {h * pixel_size_mm / 10.0:.1f} cm", 16, rows - 30, 0.6, level)

    # grey-scale bar left of the image
    bar_h = min(256, h - 20)
    ramp = np.linspace(255, 0, bar_h).astype(np.uint8)[:, None]
    bx = x0 - 40
    canvas[y0 + 10:y0 + 10 + bar_h, bx:bx + 14] = ramp

    # depth ticks every centimetre beside the image's right edge, numbered every 2 cm
    per_cm = 10.0 / pixel_size_mm
    tx = x0 + w + 6
    for k in range(int(h / per_cm) + 1):
        y = int(round(y0 + k * per_cm))
        cv2.line(canvas, (tx, y), (tx + (10 if k % 2 == 0 else 5), y), level, 1)
        if k % 2 == 0 and k:
            _text(canvas, str(k), tx + 14, y + 5, 0.45, level)

    if not mark_inside:
        return Screen(canvas, image, pixel_size_mm)
    # a stray caliper mark with its number, burned into the image
    cx = x0 + int(rng.integers(w // 8, w - w // 8))
    cy = y0 + int(rng.integers(h // 8, h - h // 8))
    cv2.drawMarker(canvas, (cx, cy), 255, cv2.MARKER_CROSS, 13, 1)
    _text(canvas, "1", cx + 8, cy - 6, 0.5, 255)
    return Screen(canvas, image, pixel_size_mm)


def clutter_stamps(rng: np.random.Generator, count: int = 48) -> list[np.ndarray]:
    """Small uint8 pictures (0 background, 255 ink) of what a screen draws near or on the
    image: lines of settings text, caliper crosses with their number, depth-scale ticks with
    numbers, grey-scale bars; for training augmentation, drawn by the same code as the screens."""
    stamps = []
    for i in range(count):
        kind = i % 4
        if kind == 0:
            line = str(rng.choice(_settings_lines(rng)))
            (w, h), base = cv2.getTextSize(line, FONT, 0.5, 1)
            stamp = np.zeros((h + base + 4, w + 4), np.uint8)
            _text(stamp, line, 2, h + 2, 0.5, 255)
        elif kind == 1:
            stamp = np.zeros((28, 28), np.uint8)
            cv2.drawMarker(stamp, (10, 16), 255, cv2.MARKER_CROSS, 13, 1)
            _text(stamp, str(int(rng.integers(1, 5))), 17, 11, 0.45, 255)
        elif kind == 2:
            step = int(rng.integers(12, 40))
            stamp = np.zeros((step * 6 + 2, 30), np.uint8)
            for k in range(7):
                cv2.line(stamp, (0, k * step), (10 if k % 2 == 0 else 5, k * step), 255, 1)
                if k % 2 == 0 and k:
                    _text(stamp, str(k), 13, k * step + 5, 0.4, 255)
        else:
            rows = int(rng.integers(60, 200))
            stamp = np.repeat(np.linspace(255, 0, rows).astype(np.uint8)[:, None],
                              int(rng.integers(6, 16)), axis=1)
        stamps.append(stamp)
    return stamps


def write_dicom(path: Path, screen: Screen) -> Path:
    """The screen as an ultrasound DICOM whose one calibrated 2-D region is the image."""
    # Imported here: 'train --screens' draws this module's clutter on GPU machines whose Python
    # has torch and OpenCV but no pydicom.
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, UltrasoundImageStorage, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UltrasoundImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = UltrasoundImageStorage, meta.MediaStorageSOPInstanceUID
    ds.Modality = "US"
    ds.PatientName, ds.PatientID = "Screen^Test", path.stem
    region = Dataset()
    region.RegionSpatialFormat = 1  # 2-D tissue
    region.RegionDataType = 1
    region.RegionFlags = 0
    b = screen.image
    region.RegionLocationMinX0, region.RegionLocationMinY0 = b.x0, b.y0
    region.RegionLocationMaxX1, region.RegionLocationMaxY1 = b.x1 - 1, b.y1 - 1  # inclusive
    region.PhysicalUnitsXDirection = region.PhysicalUnitsYDirection = 3  # cm
    region.PhysicalDeltaX = region.PhysicalDeltaY = screen.pixel_size_mm / 10.0
    ds.SequenceOfUltrasoundRegions = [region]
    ds.set_pixel_data(screen.pixels, "MONOCHROME2", 8)
    ds.save_as(path, enforce_file_format=True)
    return path
