"""Reading scans from disk into the one form the rest of fetalview works on.

A scan becomes an 8-bit grayscale array whatever its file held (8/16-bit, grayscale, RGB,
RGBA, palette, CMYK), plus what the file says about its pixel size, if anything. Every failure
is a ``ScanLoadError`` with a message a clinician can act on.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from . import dicom
from .geometry import Ellipse
from .ownfiles import is_own_output
from .pixelsize import CalibratedRegion, PixelSize, region_pixel_size

#: Refuse images above this many pixels before decoding them (a 30000x30000 header would
#: otherwise allocate gigabytes). Ultrasound frames are well under a megapixel.
MAX_PIXELS = 40_000_000
MIN_SIDE = 16
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff") + dicom.DICOM_SUFFIXES


class ScanLoadError(Exception):
    """A scan could not be read; the message says why, in words for the user."""


@dataclass(frozen=True)
class Scan:
    path: Path
    pixels: np.ndarray  # (rows, cols) uint8
    description: str  # what the file held, e.g. "16-bit grayscale PNG"
    pixel_size: PixelSize | None = None  # only when the file itself states it (image centre)
    metadata: dict = field(default_factory=dict)
    regions: tuple[CalibratedRegion, ...] = ()  # a DICOM's calibrated image regions

    @property
    def shape(self) -> tuple[int, int]:
        return self.pixels.shape

    def pixel_size_for(self, ellipse: Ellipse | None,
                       current: PixelSize | None) -> PixelSize | None:
        """The pixel size to measure ``ellipse`` with, ``current`` being the one in use.

        On a split screen (image regions scanned at different depths) the file's calibration
        follows the head to the region it lies in. That applies while ``current`` is the file's
        own (or there is none); a figure the user or a CSV gave stays."""
        from_file = current is None or current == self.pixel_size \
            or current.source == dicom.SOURCE_REGION
        if ellipse is None or not self.regions or not from_file:
            return current
        return region_pixel_size(self.regions, ellipse.cx, ellipse.cy) or current

def to_gray_uint8(array: np.ndarray) -> np.ndarray:
    """Any 2-D or colour image array -> uint8 grayscale, keeping black at zero.

    Wider integer data is scaled by its own maximum rather than the type's range, so a 16-bit
    scan that only uses 12 bits is not rendered nearly black.
    """
    a = np.asarray(array)
    if a.ndim == 3:
        if a.shape[2] == 1:
            a = a[..., 0]
        elif a.shape[2] in (3, 4):
            rgb = a[..., :3].astype(np.float32)
            a = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
        else:
            raise ScanLoadError(f"images with {a.shape[2]} channels are not supported")
    if a.ndim != 2:
        raise ScanLoadError(f"expected a 2-D image, got an array of shape {a.shape}")
    if a.dtype == np.uint8:
        return a
    a = a.astype(np.float32)
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        a = np.nan_to_num(a, nan=0.0, posinf=0.0, neginf=0.0)
    a -= min(float(a.min()), 0.0)
    top = float(a.max())
    scale = 255.0 / top if top > 255.0 else 1.0
    return np.clip(np.rint(a * scale), 0, 255).astype(np.uint8)


def check_size(rows: int, cols: int, where: Path) -> None:
    if rows * cols > MAX_PIXELS:
        raise ScanLoadError(f"{where.name}: {cols}x{rows} pixels is too large for an ultrasound "
                            f"scan (limit {MAX_PIXELS:,} pixels); refused before reading it")
    if min(rows, cols) < MIN_SIDE:
        raise ScanLoadError(f"{where.name}: {cols}x{rows} pixels is too small to be a scan")


def _load_image_file(path: Path) -> Scan:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                check_size(im.height, im.width, path)
                bits = {"I;16": 16, "I;16B": 16, "I;16L": 16, "I": 32, "F": 32}.get(im.mode, 8)
                description = f"{bits}-bit {im.mode} {im.format or path.suffix.lstrip('.')}"
                if im.mode in ("P", "PA", "CMYK", "YCbCr", "LAB", "HSV", "1", "LA"):
                    im = im.convert("RGB")
                array = np.array(im)
    except ScanLoadError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow's own limit, met in Image.open before check_size sees the header
        raise ScanLoadError(f"{path.name}: the image is too large for an ultrasound scan (limit "
                            f"{MAX_PIXELS:,} pixels); refused before reading it") from None
    except UnidentifiedImageError:
        raise ScanLoadError(f"{path.name}: not a readable image (unknown or damaged format)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ScanLoadError(f"{path.name}: the file is damaged or truncated ({exc})") from None
    return Scan(path, to_gray_uint8(array), description)


def _load_dicom_file(path: Path, frame: int) -> Scan:
    """One frame of a DICOM file, with the file's pixel size and patient fields in metadata.

    ``metadata["frames"]`` is the number of frames (a cine loop has more than one) and
    ``metadata["frame"]`` the one loaded, so a measurement can record which frame it is from.
    """
    try:
        ds = dicom.read_header(path)
        check_size(int(ds.Rows), int(ds.Columns), path)
        frames = dicom.frame_count(ds)
        pixels = to_gray_uint8(dicom.read_frame(path, ds, frame))
        regions = dicom.calibrated_regions(ds)
        size = dicom.pixel_size(ds, regions)
    except dicom.DicomError as exc:
        raise ScanLoadError(f"{path.name}: {exc}") from None
    metadata = {**dicom.patient_fields(ds), "frames": frames, "frame": frame}
    return Scan(path, pixels, dicom.describe(ds, frames), size, metadata, tuple(regions))


def load_scan(path: str | Path, frame: int = 0) -> Scan:
    """Read one scan (``frame`` of a DICOM cine loop). Raises ScanLoadError for anything that is
    not a usable scan."""
    path = Path(path)
    if not path.is_file():
        raise ScanLoadError(f"{path}: not a file (a folder, pipe or device)" if path.exists()
                            else f"{path}: no such file")
    if path.stat().st_size == 0:
        raise ScanLoadError(f"{path.name}: the file is empty")
    if dicom.looks_like_dicom(path):
        return _load_dicom_file(path, frame)
    if frame != 0:
        raise ScanLoadError(f"{path.name}: only DICOM cine loops have frames to choose from")
    return _load_image_file(path)


def is_scan_file(path: Path) -> bool:
    """Whether a folder entry looks like a scan fetalview can open: by its name, or for files
    without a suffix (DICOM archives often name files IM0001), by the DICOM marker."""
    if not path.is_file() or path.stem.endswith("_Annotation"):
        return False
    suffix = path.suffix.lower()
    return suffix in IMAGE_SUFFIXES or (suffix == "" and dicom.looks_like_dicom(path))


def list_scans(folder: Path) -> list[Path]:
    """The scans in a folder, leaving out the masks and overlays fetalview wrote there."""
    return sorted(p for p in Path(folder).iterdir() if is_scan_file(p) and not is_own_output(p))
