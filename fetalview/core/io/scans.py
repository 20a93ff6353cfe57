"""Reading scans from disk into the one form the rest of fetalview works on.

A scan becomes an 8-bit grayscale array whatever its file held (8/16-bit, float, grayscale,
RGB, RGBA, palette, CMYK), upright as its EXIF orientation says, plus what the file says about
its pixel size, if anything. Every failure is a ``ScanLoadError`` with a message a clinician
can act on; what the user should know about a scan that did load (only the first frame of an
animation was used, the file's pixel size was implausible) is in ``Scan.notes``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from fetalview.core.io import dicom
from fetalview.core.io import dicomdir
from fetalview.core.measure.geometry import Ellipse
from fetalview.core.io.grayscale import ImageShapeError, to_gray_uint8
from fetalview.core.io.ownfiles import is_own_output
from fetalview.core.measure.pixelsize import CalibratedRegion, PixelSize, PixelSizeError, region_pixel_size
from fetalview.core.io.plainpng import read_plain_gray_png
from fetalview.core.io.pngdata import image_data_complete

#: Refuse images above this many pixels before decoding them (a 30000x30000 header would
#: otherwise allocate gigabytes). Ultrasound frames are well under a megapixel.
MAX_PIXELS = 40_000_000
#: ``Scan.metadata`` key: why a DICOM is not an obstetric ultrasound image
#: (``dicom.not_obstetric``).
NOT_OBSTETRIC = "not_obstetric"
MIN_SIDE = 16
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif") + dicom.DICOM_SUFFIXES
#: Formats whose extra frames are an animation (the first frame is the picture); in any other
#: multi-image file (TIFF pages, MPO) the pages are separate images, often a thumbnail first.
ANIMATION_FORMATS = ("GIF", "PNG", "WEBP", "FLI")
EXIF_ORIENTATION = 0x0112


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
    #: What the user should be told about how the file was read, one sentence each; the batch
    #: prints them and the app shows them when the scan opens.
    notes: tuple[str, ...] = ()
    #: The file says patient details are burned into the pixels (DICOM Burned In Annotation
    #: YES): images made from them (overlays, reports) need the user's explicit consent.
    burned_in: bool = False

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

def check_size(rows: int, cols: int, where: Path) -> None:
    if rows * cols > MAX_PIXELS:
        raise ScanLoadError(f"{where.name}: {cols}x{rows} pixels is too large for an ultrasound "
                            f"scan (limit {MAX_PIXELS:,} pixels); refused before reading it")
    if min(rows, cols) < MIN_SIDE:
        raise ScanLoadError(f"{where.name}: {cols}x{rows} pixels is too small to be a scan")


def _load_image_file(path: Path) -> Scan:
    pixels = read_plain_gray_png(path, MAX_PIXELS, MIN_SIDE)
    if pixels is not None:  # what Pillow would give, faster (see plainpng)
        return Scan(path, pixels, "8-bit L PNG")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                notes = _choose_frame(im, path)
                if im.format == "PNG" and not image_data_complete(path):
                    raise ScanLoadError(f"{path.name}: the file is damaged or truncated (its "
                                        "image data ends before its last row)")
                bits = {"I;16": 16, "I;16B": 16, "I;16L": 16, "I": 32, "F": 32}.get(im.mode, 8)
                description = f"{bits}-bit {im.mode} {im.format or path.suffix.lstrip('.')}"
                if im.getexif().get(EXIF_ORIENTATION, 1) != 1:
                    description += ", turned upright as its EXIF orientation says"
                upright = ImageOps.exif_transpose(im)
                if upright.mode in ("P", "PA", "CMYK", "YCbCr", "LAB", "HSV", "1", "LA"):
                    upright = upright.convert("RGB")
                array = np.array(upright)
        pixels = to_gray_uint8(array)
    except ScanLoadError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow's own limit, met in Image.open before check_size sees the header
        raise ScanLoadError(f"{path.name}: the image is too large for an ultrasound scan (limit "
                            f"{MAX_PIXELS:,} pixels); refused before reading it") from None
    except UnidentifiedImageError:
        raise ScanLoadError(f"{path.name}: not a readable image (unknown or damaged format)") from None
    except ImageShapeError as exc:
        raise ScanLoadError(f"{path.name}: {exc}") from None
    except (OSError, SyntaxError, ValueError, EOFError, TypeError) as exc:
        # Pillow raises TypeError for some damaged headers (a TIFF page with no dimensions,
        # met while seeking through the pages): a damaged file, not a fault of ours.
        raise ScanLoadError(f"{path.name}: the file is damaged or truncated ({exc})") from None
    return Scan(path, pixels, description, notes=tuple(notes))


def _choose_frame(im: Image.Image, path: Path) -> list[str]:
    """Move ``im`` to the picture to measure and say which, when the file holds several.

    An animation (GIF, APNG) is measured on its first frame. Pages of a TIFF are separate
    pictures, often a small preview first: the largest is measured, never a thumbnail.
    Every page's size is checked before anything is decoded."""
    count = getattr(im, "n_frames", 1)
    sizes = []
    for i in range(count):
        im.seek(i)
        check_size(im.height, im.width, path)
        sizes.append(im.width * im.height)
    chosen = 0 if im.format in ANIMATION_FORMATS else sizes.index(max(sizes))
    im.seek(chosen)
    if count == 1:
        return []
    if im.format in ANIMATION_FORMATS:
        return [f"the file is an animation of {count} frames: only the first is measured"]
    same = sizes.count(sizes[chosen])
    return [f"the file holds {count} pictures: picture {chosen + 1}, the largest"
            + (f" ({im.width}x{im.height}), is measured" if same == 1
               else f" ({im.width}x{im.height}) with {same - 1} other(s) of that size, "
               "is measured; open the others from a file of their own")]


def _load_dicom_file(path: Path, frame: int) -> Scan:
    """One frame of a DICOM file, with the file's pixel size and patient fields in metadata.

    ``metadata["frames"]`` is the number of frames (a cine loop has more than one) and
    ``metadata["frame"]`` the one loaded, so a measurement can record which frame it is from.
    An implausible calibration is not used (the scan is measured in pixels) and noted.
    """
    notes = []
    try:
        ds = dicom.read_header(path)
        check_size(int(ds.Rows), int(ds.Columns), path)
        frames = dicom.frame_count(ds)
        pixels = to_gray_uint8(dicom.read_frame(path, ds, frame))
        try:
            regions = dicom.calibrated_regions(ds)
            size = dicom.pixel_size(ds, regions)
        except PixelSizeError as exc:
            regions, size = [], None
            notes.append(f"{exc}; the file's calibration is not used")
    except (dicom.DicomError, ImageShapeError) as exc:
        raise ScanLoadError(f"{path.name}: {exc}") from None
    metadata = {**dicom.patient_fields(ds), "frames": frames, "frame": frame}
    other = dicom.not_obstetric(ds)
    if other is not None:  # measured, but flagged: nothing of it leaves automatically
        metadata[NOT_OBSTETRIC] = other
    return Scan(path, pixels, dicom.describe(ds, frames), size, metadata, tuple(regions),
                tuple(notes), dicom.burned_in(ds))


def load_scan(path: str | Path, frame: int = 0) -> Scan:
    """Read one scan (``frame`` of a DICOM cine loop). Raises ScanLoadError for anything that is
    not a usable scan."""
    path = Path(path)
    if not path.is_file():
        raise ScanLoadError(f"{path}: not a file (a folder, pipe or device)" if path.exists()
                            else f"{path}: no such file")
    if path.stat().st_size == 0:
        raise ScanLoadError(f"{path.name}: the file is empty")
    if dicomdir.is_dicomdir(path):
        try:
            count = len(dicomdir.referenced_images(path))
        except dicomdir.DicomDirError as exc:
            raise ScanLoadError(str(exc)) from None
        raise ScanLoadError(f"{path.name}: the index of a DICOM export ({count} images), not a "
                            "scan; open its folder to see the images")
    if dicom.looks_like_dicom(path):
        return _load_dicom_file(path, frame)
    if frame != 0:
        raise ScanLoadError(f"{path.name}: only DICOM cine loops have frames to choose from")
    return _load_image_file(path)


def is_scan_file(path: Path) -> bool:
    """Whether a folder entry looks like a scan fetalview can open: by its name, or for files
    without a suffix (DICOM archives often name files IM0001), by the DICOM marker. A DICOMDIR
    is an index, not a scan (``list_scans`` follows it)."""
    if not path.is_file() or path.stem.endswith("_Annotation") or dicomdir.is_dicomdir(path):
        return False
    suffix = path.suffix.lower()
    return suffix in IMAGE_SUFFIXES or (suffix == "" and dicom.looks_like_dicom(path))


def list_scans(folder: Path) -> list[Path]:
    """The folder's scans, leaving out the masks and overlays fetalview wrote there, and the
    images its DICOMDIR names (in sub-folders); a DICOMDIR that cannot be read is listed
    itself, so that opening it says why."""
    found = {p for p in Path(folder).iterdir() if is_scan_file(p) and not is_own_output(p)}
    index = dicomdir.find(folder)
    if index is not None:
        try:
            found.update(dicomdir.referenced_images(index))
        except dicomdir.DicomDirError:
            found.add(index)
    return sorted(found)
