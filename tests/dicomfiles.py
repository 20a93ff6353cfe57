"""Small ultrasound DICOM files built with pydicom itself, for the DICOM and report tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import (ExplicitVRLittleEndian, JPEGBaseline8Bit, UltrasoundImageStorage,
                         UltrasoundMultiFrameImageStorage, generate_uid)

from fetalview.core.io import dicom

ROWS, COLS = 48, 64


def gradient(frame: int = 0) -> np.ndarray:
    """A frame whose pixel values say which frame it is (top-left) and where (a ramp)."""
    image = np.tile(np.linspace(0, 200, COLS, dtype=np.uint8), (ROWS, 1))
    image[:4, :4] = 10 * frame + 5
    return image


def region(x0, y0, x1, y1, delta_cm, units=dicom.UNITS_CM, spatial=1) -> Dataset:
    r = Dataset()
    r.RegionSpatialFormat = spatial
    r.RegionDataType = 1
    r.RegionFlags = 0
    r.RegionLocationMinX0, r.RegionLocationMinY0 = x0, y0
    r.RegionLocationMaxX1, r.RegionLocationMaxY1 = x1, y1
    r.PhysicalUnitsXDirection = r.PhysicalUnitsYDirection = units
    r.PhysicalDeltaX = r.PhysicalDeltaY = delta_cm
    return r


def make_dicom(path: Path, pixels: np.ndarray, photometric: str = "MONOCHROME2",
               regions: list[Dataset] | None = None, pixel_spacing=None,
               with_pixels: bool = True, syntax=ExplicitVRLittleEndian,
               burned_in: str | None = None) -> Path:
    """A minimal ultrasound DICOM file; ``pixels`` (frames, rows, cols[, 3]) makes a cine loop.
    ``syntax``: an uncompressed transfer syntax (deflated included)."""
    meta = FileMetaDataset()
    multi = pixels.ndim == 4 or (pixels.ndim == 3 and pixels.shape[-1] != 3)
    meta.MediaStorageSOPClassUID = (UltrasoundMultiFrameImageStorage if multi
                                    else UltrasoundImageStorage)
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = syntax
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "US"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.PatientName = "Doe^Jane"
    ds.PatientID = "PID-0042"
    ds.StudyDate = "20260315"
    if regions is not None:
        ds.SequenceOfUltrasoundRegions = regions
    if pixel_spacing is not None:
        ds.PixelSpacing = pixel_spacing
    if burned_in is not None:
        ds.BurnedInAnnotation = burned_in
    if with_pixels:
        ds.set_pixel_data(pixels, photometric, 8)
    else:
        ds.Rows, ds.Columns = pixels.shape[-2:] if pixels.ndim == 2 else pixels.shape[:2]
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, photometric
        ds.BitsAllocated = ds.BitsStored = 8
    ds.save_as(path, enforce_file_format=True)
    return path


def jpeg_dicom(path: Path, jpeg: bytes, shape: tuple[int, int]) -> Path:
    """A grayscale JPEG Baseline ultrasound DICOM holding ``jpeg`` (rows, cols ``shape``) as its
    one fragment, byte for byte, damaged or not."""
    make_dicom(path, np.zeros(shape, np.uint8))
    ds = pydicom.dcmread(path)
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    ds.PixelData = encapsulate([jpeg])
    ds["PixelData"].VR = "OB"
    ds.save_as(path, enforce_file_format=True)
    return path


def edited_dicom(path: Path, pixels: np.ndarray, regions=None, remove=(), raw=None,
                 **values) -> Path:
    """``make_dicom`` with attributes set to ``values`` (hostile ones included: pydicom writes
    what it is given), those in ``remove`` deleted, and each (old, new) pair of ``raw`` bytes
    replaced in the file as written, for bytes no library would write."""
    make_dicom(path, pixels, regions=regions)
    ds = pydicom.dcmread(path)
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    for keyword in remove:
        del ds[keyword]
    ds.save_as(path)
    for old, new in (raw or {}).items():
        data = path.read_bytes()
        assert data.count(old) == 1, old
        path.write_bytes(data.replace(old, new))
    return path
