"""What one instance stored into Orthanc gets: which instances are measured, and measuring one
to the bytes of its SR and annotated image.

It is ``fetalview measure --dicom-out`` on one file (``batch.measure_one``), not a copy of it:
the same model result, the same rules for what may leave without a clinician (a result the
model doubts, an image that is not an obstetric ultrasound: nothing is stored, the log says
why), the same rule for a scan without a pixel size (no SR, as an SR holds millimetres), the
same SR and SC, with UIDs derived from the source and the result (``dicom_results``), so
measuring an instance again (after a crash) stores the same instances, which Orthanc keeps
once.
"""

from __future__ import annotations

import io
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pydicom
from pydicom.errors import InvalidDicomError

from fetalview.core.batch import Outputs, PixelSizeBook, measure_one, pixels_only
from fetalview.core.io.safetext import printable
from fetalview.core.results.dicom_sc import MANUFACTURER

if TYPE_CHECKING:
    from fetalview.core.model.segmenter import Segmenter

US_IMAGE = "1.2.840.10008.5.1.4.1.1.6.1"
US_MULTIFRAME = "1.2.840.10008.5.1.4.1.1.3.1"
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
#: Single-frame and cine ultrasound, and a Secondary Capture of an ultrasound (Modality US).
MEASURED_CLASSES = (US_IMAGE, US_MULTIFRAME, SECONDARY_CAPTURE)
_NOT_IN_A_NAME = re.compile(r"[^0-9A-Za-z.]")
#: Said of a scan measured in pixels only: an SR holds millimetres, so it gets none.
NO_PIXEL_SIZE = ("no SR stored: measured in pixels only, as the image states no pixel size (no "
                 "calibrated ultrasound region, no Pixel Spacing); a DICOM SR holds millimetres")
NO_HEAD = "no head found (no_head)"


@dataclass(frozen=True)
class Arrival:
    """What measuring one instance gave: the files to store (the SR first, none for an
    instance left alone or one that gave no SR), and what the log says of it."""
    store: tuple[bytes, ...]
    message: str


def left_alone(header: pydicom.Dataset, classes: tuple[str, ...] = MEASURED_CLASSES) -> str | None:
    """Why an instance is not measured, in words; None when it is. fetalview's own SR and
    annotated image are known by their Manufacturer (and an SR or SC whose modality is not US
    is not measured anyway), so a result never gets a result of its own."""
    sop_class = str(header.get("SOPClassUID", ""))
    if str(header.get("Manufacturer", "")) == MANUFACTURER:
        return "written by fetalview"
    if sop_class not in classes:
        return f"not an ultrasound image fetalview measures (SOP class {sop_class or 'missing'})"
    if sop_class == SECONDARY_CAPTURE and str(header.get("Modality", "")) != "US":
        return f"a Secondary Capture of modality {header.get('Modality') or 'missing'}, not US"
    return None


def measure_arrival(segmenter: Segmenter, data: bytes,
                    classes: tuple[str, ...] = MEASURED_CLASSES,
                    annotated_image: bool = True) -> Arrival:
    """Measure the DICOM file ``data`` as ``fetalview measure --dicom-out`` would (frame 0 of
    a cine loop). Its results are stored only when the batch would write them: measured in mm
    and nothing doubted. ``annotated_image`` False stores the SR alone, unless the SR points at
    the image (a source without valid UIDs, whose results go to a new study)."""
    try:
        header = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
    except (InvalidDicomError, ValueError, EOFError, OSError) as exc:
        return Arrival((), f"not read as DICOM ({printable(str(exc))}): not measured")
    why = left_alone(header, classes)
    if why:
        return Arrival((), f"left alone: {why}")
    uid = str(header.get("SOPInstanceUID", ""))
    # the name is part of the result (and of its UIDs): the same for the same instance
    name = (_NOT_IN_A_NAME.sub("_", uid)[:120] or "instance") + ".dcm"
    written: list[list[Path]] = []
    with tempfile.TemporaryDirectory(prefix="fetalview-arrival-") as tmp:
        scan, out = Path(tmp) / "scan" / name, Path(tmp) / "results"
        scan.parent.mkdir()
        out.mkdir()
        scan.write_bytes(data)
        try:
            row = measure_one(segmenter, scan, PixelSizeBook(), Outputs(
                dicom=out, send_dicom=lambda _name, paths: written.append(paths)))
        except Exception as exc:  # one instance's failure must not stop the queue
            return Arrival((), f"not measured: {type(exc).__name__}: {printable(str(exc))}")
        files = [p.read_bytes() for p in written[0]] if written else []
    if pixels_only(row):
        return Arrival((), NO_PIXEL_SIZE)
    if not files:
        why = NO_HEAD if row["status"] == "no_head" else row["status"]
        return Arrival((), f"no SR stored: {why}")
    sr, sc = files
    joined = pydicom.dcmread(io.BytesIO(sr), stop_before_pixels=True).StudyInstanceUID \
        == header.get("StudyInstanceUID")
    store = (sr, sc) if annotated_image or not joined else (sr,)
    return Arrival(store, f"HC {row['hc_mm']} mm: SR (UNVERIFIED, PRELIMINARY)"
                   + (" and annotated image" if len(store) == 2 else "") + " stored")
