"""Ultrasound DICOM files: one frame as 8-bit gray, its calibrated pixel size, who and when.

Clinics store ultrasound as DICOM, often as cine loops (multi-frame) and often JPEG compressed.
Only the requested frame is decoded, so a long loop does not fill memory. The file is only ever
read, never written.

Pixel size comes, in this order, from
1. the Sequence of Ultrasound Regions (0018,6011): the scanner's own calibration of the region
   where the image is drawn. Regions of other kinds (Doppler strips, M-mode, dB or time axes)
   are skipped; among calibrated 2-D regions the one that holds the head's centre wins (the
   image centre until the head is found: see ``Scan.pixel_size_for``);
2. Pixel Spacing (0028,0030), then Imager Pixel Spacing (0018,1164).
A stated calibration outside the plausible range (``PixelSize``'s one rule: zero, negative,
150 mm) is not replaced by another of the file's figures: the scan is measured in pixels and
the loader says why (``PixelSizeError``). An unreadable one refuses the file. A wrong
millimetre value is worse than none.

A JPEG frame is checked with libjpeg-turbo in strict mode before it is measured: pydicom's
decoders fill a truncated or damaged fragment with grey and say nothing, and the model then
measures whatever shape that leaves.

pydicom (with the JPEG decoders it plugs in) and simplejpeg are imported by the functions that
read a file, not with this module: they cost a tenth of a second, and the app's window, the
folder listing and the batch import this module for ``looks_like_dicom`` and ``DicomError``
long before (or without) reading a DICOM file.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from fetalview.core.io.safetext import printable
from fetalview.core.measure.pixelsize import CalibratedRegion, PixelSize, region_pixel_size

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

DICOM_SUFFIXES = (".dcm", ".dicom")

#: PhysicalUnitsX/YDirection code for centimetres (DICOM PS3.3 C.8.5.5.1.15).
UNITS_CM = 3
#: RegionSpatialFormat code for a 2-D tissue or flow image (PS3.3 C.8.5.5.1.1).
SPATIAL_2D = 1
#: Pixels whose x and y sizes differ by more than this are not square enough to measure with one
#: figure; the region's calibration is then not used.
MAX_ANISOTROPY = 0.01

SOURCE_REGION = "DICOM ultrasound region calibration"
SOURCE_PIXEL_SPACING = "DICOM Pixel Spacing"
SOURCE_IMAGER_SPACING = "DICOM Imager Pixel Spacing"
#: What to do about a damaged file: the copy is at fault far more often than the scanner.
COPY_AGAIN = "It was probably copied or downloaded only in part: copy it again from the " \
    "scanner or the PACS."


class DicomError(Exception):
    """The DICOM file cannot be used; the message is meant for the user (without the file name,
    which the caller adds)."""


def looks_like_dicom(path: Path) -> bool:
    """By suffix, or by the 'DICM' marker after the 128-byte preamble (files named without one)."""
    if path.suffix.lower() in DICOM_SUFFIXES:
        return True
    if not path.is_file():  # opening a FIFO (or a device) named like a scan would block forever
        return False
    try:
        with open(path, "rb") as f:
            head = f.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:132] == b"DICM"


def read_header(path: Path) -> Dataset:
    """Every element but the pixel data; raises DicomError for files that are not DICOM."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
    except InvalidDicomError:
        raise DicomError("not a DICOM file") from None
    except (OSError, EOFError, ValueError, KeyError, TypeError):
        raise DicomError("the DICOM file is damaged or cut short: its header (who, when, how "
                         f"the image is stored) cannot be read. {COPY_AGAIN}") from None
    if "Rows" not in ds or "Columns" not in ds:
        raise DicomError("the DICOM file holds no image (no Rows/Columns)")
    return ds


def frame_count(ds: Dataset) -> int:
    try:
        return max(1, int(ds.get("NumberOfFrames", 1) or 1))
    except (TypeError, ValueError):
        raise DicomError("the DICOM file's Number of Frames is not a number") from None


def read_frame(path: Path, ds: Dataset, frame: int = 0) -> np.ndarray:
    """Frame ``frame`` as decoded by pydicom: (rows, cols) or (rows, cols, 3), RGB for colour.

    pydicom converts YBR_FULL / YBR_FULL_422 to RGB itself; MONOCHROME1 is inverted here so that
    bone is bright as in every other scan, and PALETTE COLOR goes through its lookup table.
    A deflated file is inflated whole first (pydicom cannot seek a frame inside the stream).
    """
    import pydicom.encaps
    import pydicom.pixels
    from pydicom.uid import DeflatedExplicitVRLittleEndian, JPEGBaseline8Bit, JPEGExtended12Bit

    # Read whole: deflated files (no seeking in the stream) and 8-bit JPEG, whose frame is
    # checked by ``_check_jpeg`` before it is used.
    jpeg_8bit = (JPEGBaseline8Bit, JPEGExtended12Bit)
    read_whole = (DeflatedExplicitVRLittleEndian, *jpeg_8bit)
    n = frame_count(ds)
    if not 0 <= frame < n:
        raise DicomError(f"frame {frame} does not exist (the file has {n} frames, "
                         f"numbered 0 to {n - 1})")
    syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    index = frame if n > 1 else None
    try:
        whole = pydicom.dcmread(path) if syntax in read_whole else None
        pixels = pydicom.pixels.pixel_array(whole or path, index=index)
        if syntax in jpeg_8bit and int(ds.get("BitsAllocated", 8)) == 8:
            _check_jpeg(pydicom.encaps.get_frame(whole.PixelData, frame, number_of_frames=n))
    except (AttributeError, KeyError):
        raise DicomError("the DICOM file has no pixel data") from None
    except NotImplementedError:
        name = syntax.name if syntax is not None else "unknown"
        raise DicomError(f"its compression ({name}) cannot be decoded here; "
                         "install pylibjpeg-libjpeg / pylibjpeg-openjpeg") from None
    except (OSError, EOFError, ValueError, RuntimeError, TypeError):
        raise DicomError(_damage_in_words(path, ds, frame, n)) from None
    photometric = str(ds.get("PhotometricInterpretation", "")).upper()
    if photometric == "MONOCHROME1":
        pixels = _invert(pixels, ds)
    elif photometric == "PALETTE COLOR":
        try:
            pixels = pydicom.pixels.apply_color_lut(pixels, ds)
        except (AttributeError, KeyError, ValueError, TypeError, IndexError) as exc:
            raise DicomError("its PALETTE COLOR pixels have no usable colour lookup table "
                             f"({exc})") from None
    return pixels


def _damage_in_words(path: Path, ds: Dataset, frame: int, n: int) -> str:
    """What is wrong with pixel data that would not decode, said as a clinician can act on it.

    The decoder's own text (a numpy array that "cannot reshape array of size 1765 into shape
    (48,64)") names nothing the reader knows; here the bytes the image needs are set against
    the bytes the file holds."""
    import pydicom

    which = f"frame {frame} of its {n} frames" if n > 1 else "its image"
    try:
        whole = pydicom.dcmread(path)
        held = len(whole.PixelData)
        compressed = whole.file_meta.TransferSyntaxUID.is_compressed
        per_frame = int(ds.Rows) * int(ds.Columns) * int(ds.get("SamplesPerPixel", 1) or 1) \
            * -(-int(ds.get("BitsAllocated", 8) or 8) // 8)
    except Exception:  # noqa: BLE001 - damaged beyond a count: said as such below
        return f"the DICOM file is damaged: the pixel data of {which} cannot be read. {COPY_AGAIN}"
    if compressed:
        return (f"the DICOM file's compressed pixel data is damaged or cut short: {which} "
                f"cannot be decoded. {COPY_AGAIN}")
    if held < per_frame * n:
        needs = f"its {n} frames need" if n > 1 else "its image needs"
        lost = f", so frame {frame} is incomplete" if n > 1 else ""
        return (f"the DICOM file is cut short: its pixel data holds {held:,} of the "
                f"{per_frame * n:,} bytes {needs} ({100 * held // (per_frame * n)}%){lost}. "
                f"{COPY_AGAIN}")
    return f"the DICOM file is damaged: the pixel data of {which} cannot be read. {COPY_AGAIN}"


def _check_jpeg(fragment: bytes) -> None:
    """Decode ``fragment`` with libjpeg-turbo in strict mode: its warnings (premature end of
    data, extraneous bytes before a marker, a corrupt Huffman code) become a DicomError.

    A JPEG holds no checksum, so damage that keeps the entropy decoder in step goes unseen;
    truncation and most overwritten bytes do not."""
    import simplejpeg

    try:
        simplejpeg.decode_jpeg(fragment, colorspace="GRAY", strict=True)
    except ValueError as exc:
        raise DicomError(f"its JPEG pixel data is damaged ({exc}); refused rather than "
                         "measured on a partly invented image") from None


def _invert(pixels: np.ndarray, ds: Dataset) -> np.ndarray:
    """MONOCHROME1 stores white as zero; flip it within the stored bit range."""
    if pixels.dtype.kind == "u":
        top = (1 << int(ds.get("BitsStored", pixels.dtype.itemsize * 8))) - 1
        return (top - pixels.astype(np.int64)).clip(0, top).astype(pixels.dtype)
    return pixels.max() + pixels.min() - pixels


def pixel_size(ds: Dataset, regions: list[CalibratedRegion] | None = None) -> PixelSize | None:
    """The file's own pixel size at the image centre, or None (``regions``: the file's
    ``calibrated_regions``, when already read). PixelSizeError for an implausible one."""
    if regions is None:
        regions = calibrated_regions(ds)
    found = region_pixel_size(regions, int(ds.Columns) / 2.0, int(ds.Rows) / 2.0)
    if found is not None:
        return found
    for keyword, source in (("PixelSpacing", SOURCE_PIXEL_SPACING),
                            ("ImagerPixelSpacing", SOURCE_IMAGER_SPACING)):
        if keyword in ds:
            return _spacing(ds.get(keyword), source)
    return None


def calibrated_regions(ds: Dataset) -> list[CalibratedRegion]:
    """The 2-D image regions calibrated in cm (as scanners write it) with square pixels.

    Regions of other kinds (Doppler strips, M-mode, dB or time axes) are skipped; an incomplete
    region is a DicomError, an implausible calibration a PixelSizeError, each naming it."""
    found = []
    for i, region in enumerate(ds.get("SequenceOfUltrasoundRegions") or []):
        try:
            units = (int(region.PhysicalUnitsXDirection), int(region.PhysicalUnitsYDirection))
            spatial = int(region.get("RegionSpatialFormat", SPATIAL_2D))
            box = tuple(int(region.get(k)) for k in ("RegionLocationMinX0", "RegionLocationMinY0",
                                                     "RegionLocationMaxX1", "RegionLocationMaxY1"))
        except (AttributeError, TypeError, ValueError):
            raise DicomError(f"ultrasound region {i + 1} of the calibration sequence is "
                             "incomplete (units or location missing)") from None
        if units != (UNITS_CM, UNITS_CM) or spatial != SPATIAL_2D:
            continue
        try:
            dx, dy = float(region.PhysicalDeltaX), float(region.PhysicalDeltaY)
        except (AttributeError, TypeError, ValueError):
            raise DicomError(f"ultrasound region {i + 1} has no readable Physical Delta X/Y") from None
        size = _square(10.0 * dx, 10.0 * dy, SOURCE_REGION,
                       f"the calibration of ultrasound region {i + 1}")
        if size is not None:
            found.append(CalibratedRegion(box, size))
    return found


def _square(x_mm: float, y_mm: float, source: str, named: str | None = None) -> PixelSize | None:
    """One pixel size for pixels ``x_mm`` by ``y_mm``, or None when they are not square enough
    to measure with one figure (it would distort HC). Each side must pass ``PixelSize``'s
    plausibility rule: a PixelSizeError naming ``named`` (default ``source``) otherwise."""
    PixelSize(x_mm, named or source), PixelSize(y_mm, named or source)
    if abs(x_mm - y_mm) > MAX_ANISOTROPY * max(x_mm, y_mm):
        return None
    return PixelSize((x_mm + y_mm) / 2.0, source)


def _spacing(value, source: str) -> PixelSize | None:
    """Pixel Spacing is 'row spacing \\ column spacing' in mm; only square pixels are used."""
    try:
        rows_mm, cols_mm = (float(v) for v in value)
    except (TypeError, ValueError):
        raise DicomError(f"{source} is unreadable ({value!r})") from None
    return _square(cols_mm, rows_mm, source)


def check_character_set(ds: Dataset) -> None:
    """Refuse a file whose Specific Character Set (0008,0005) names a character set DICOM does
    not define (PS3.3 C.12.1.1.2): pydicom would read its names as ASCII and replace what it
    cannot, and a name read wrongly must not be copied into a report. Those DICOM defines,
    ISO 2022 with its escape sequences (e.g. Japanese ISO 2022 IR 87) included, are decoded
    by pydicom; bytes that do not match the declared set come out as U+FFFD, which the
    results' value checks refuse."""
    from pydicom.charset import python_encoding

    declared = ds.get("SpecificCharacterSet") or []
    for term in [declared] if isinstance(declared, str) else declared:
        if term.strip() and term.strip() not in python_encoding:
            raise DicomError(f"its Specific Character Set {term.strip()[:64]!r} is not a "
                             "character set DICOM defines, so its patient's name and ID "
                             "cannot be read reliably; no DICOM results are made from it")


def patient_fields(ds: Dataset) -> dict[str, str]:
    """Name, ID, exam date, birth date, facility (Institution Name) and operator (Operators'
    Name), for display and (only when the user opts in) for reports' headers."""
    from pydicom.multival import MultiValue

    fields = {}
    name = str(ds.get("PatientName", "") or "").replace("^", " ").strip()
    if name:
        fields["patient_name"] = name
    pid = str(ds.get("PatientID", "") or "").strip()
    if pid:
        fields["patient_id"] = pid
    for keyword in ("StudyDate", "AcquisitionDate", "ContentDate", "SeriesDate"):
        date = _date(ds.get(keyword))
        if date is not None:
            fields["exam_date"] = date.isoformat()
            break
    birth = _date(ds.get("PatientBirthDate"))
    if birth is not None:
        fields["birth_date"] = birth.isoformat()
    for key, keyword in (("facility", "InstitutionName"), ("operator", "OperatorsName")):
        value = ds.get(keyword, "") or ""
        values = value if isinstance(value, MultiValue) else [value]  # several operators
        text = printable(", ".join(str(v).replace("^", " ").strip() for v in values)).strip()
        if text:
            fields[key] = text
    return fields


#: Words of a BodyPartExamined or ProtocolName that name an organ no fetal head is scanned
#: for (an echocardiogram, a thyroid, a kidney...): such a file is not an obstetric scan.
OTHER_ORGANS = frozenset((
    "HEART", "CARDIAC", "ECHO", "ECHOCARDIOGRAPHY", "CHEST", "THORAX", "LUNG", "BREAST",
    "THYROID", "NECK", "CAROTID", "KIDNEY", "RENAL", "LIVER", "GALLBLADDER", "SPLEEN",
    "PANCREAS", "PROSTATE", "TESTIS", "SCROTUM", "BLADDER", "KNEE", "SHOULDER", "HIP", "ELBOW",
    "WRIST", "ANKLE", "EXTREMITY", "ARM", "LEG", "HAND", "FOOT", "VASCULAR", "ARTERY", "VEIN",
    "EYE", "ORBIT", "TESTICLE", "MUSCLE"))


def not_obstetric(ds: Dataset) -> str | None:
    """Why the file is not an obstetric ultrasound image, in words (None when nothing says so):
    its Modality is not US, or its BodyPartExamined or ProtocolName names another organ. Such
    a file is still measured, but flagged, and no result of it leaves automatically."""
    modality = printable(str(ds.get("Modality", "") or "")).strip().upper()
    if modality != "US":
        return ("not an obstetric ultrasound image (Modality "
                f"{modality[:16] or 'not given'}, not US)")
    for keyword, label in (("BodyPartExamined", "body part"), ("ProtocolName", "protocol")):
        text = printable(str(ds.get(keyword, "") or "")).strip()
        if OTHER_ORGANS & set(re.split(r"[^A-Z]+", text.upper())):
            return f"not an obstetric ultrasound image ({label} {text[:64]!r})"
    return None


def _date(value) -> dt.date | None:
    text = str(value or "").strip()
    try:
        return dt.datetime.strptime(text[:8], "%Y%m%d").date()
    except ValueError:
        return None


def describe(ds: Dataset, frames: int) -> str:
    """What the file held, e.g. 'DICOM US, 8-bit YBR_FULL_422, JPEG Baseline, 24 frames'."""
    syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    parts = [f"DICOM {ds.get('Modality', '')}".strip(),
             f"{ds.get('BitsStored', ds.get('BitsAllocated', '?'))}-bit "
             f"{ds.get('PhotometricInterpretation', '')}".strip()]
    if syntax is not None:
        parts.append(syntax.name)
    if frames > 1:
        parts.append(f"{frames} frames")
    return ", ".join(parts)


def burned_in(ds: Dataset) -> bool:
    """Burned In Annotation (0028,0301) is YES: patient details are part of the pixels."""
    return str(ds.get("BurnedInAnnotation", "") or "").strip().upper() == "YES"
