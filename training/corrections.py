"""Clinicians' corrections as training data, so a clinic can adapt the model to its scanners.

The app saves every measurement in a sidecar beside the scan. A sidecar whose contour a
clinician corrected and confirmed ("corrected" in ``core.review``: changed beyond the stated
tolerance from the model's, and signed off) holds a reference outline for that scan (on the
frame it names, for cine loops); its filled ellipse becomes the training mask exactly as the
HC18 annotations do. Everything else is left out: the model's own output, also when a clinician
confirmed it unchanged (training on it would teach nothing and reinforce its mistakes), and
edits nobody confirmed (an edit may be half done).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from fetalview.core.measure.geometry import Ellipse
from fetalview.core.io.scans import ScanLoadError, list_scans, load_scan
from fetalview.core.record.review import standing_signoff
from fetalview.core.record.sidecar import (Annotation, SidecarError, SidecarMismatch,
                                           check_belongs, read_sidecar, sidecar_path)
from fetalview.core.record.sidecar_store import load_annotation

from .dataset import write_cache


@dataclass(frozen=True)
class Correction:
    scan: Path
    frame: int
    ellipse: Ellipse
    pixel_size_mm: float  # NaN when the sidecar has none
    annotation: Annotation  # checked against the scan's pixels before it trains anything

    @property
    def subject(self) -> str:
        """Corrections only ever train, so their subject only needs to be distinct."""
        return f"correction:{self.scan.name}:{self.frame}"


def find_corrections(folder: Path, fallback_root: Path | None = None,
                     log=print) -> list[Correction]:
    """Scans in ``folder`` whose sidecar (beside the scan, or also under the app's
    ``fallback_root`` when given) holds a confirmed correction. Unreadable sidecars, and edits
    not confirmed, are reported and skipped."""
    found = []
    for scan in list_scans(Path(folder)):
        try:
            if fallback_root is not None:
                annotation = load_annotation(scan, fallback_root)
            else:
                beside = sidecar_path(scan)
                annotation = read_sidecar(beside) if beside.is_file() else None
        except SidecarError as exc:
            log(f"skipped: {exc}")
            continue
        signoff = standing_signoff(annotation) if annotation is not None else None
        if signoff is None or not signoff.corrected:
            if annotation is not None and annotation.edited and signoff is None:
                log(f"skipped: {scan.name} was edited but not confirmed; confirm it in the app "
                    "to use it")
            continue
        ps = annotation.pixel_size.mm_per_pixel if annotation.pixel_size else math.nan
        found.append(Correction(scan, annotation.frame or 0, annotation.ellipse, ps, annotation))
    return found


def build_correction_cache(corrections: list[Correction], grid_shape: tuple[int, int],
                           out: Path, log=print) -> Path:
    """The corrections in the training cache's format; scans that no longer load are skipped."""
    usable = []
    for c in corrections:
        try:
            pixels = load_scan(c.scan, frame=c.frame).pixels
            # The identity check every sidecar load in the app passes: a contour saved on other
            # pixels (the scan replaced, the sidecar copied beside another scan) must not teach
            # the model a wrong outline.
            check_belongs(c.annotation, c.scan.name, pixels, c.frame)
            usable.append((c, pixels))
        except (ScanLoadError, SidecarMismatch) as exc:
            log(f"skipped: {c.scan.name}: {exc}")
    if not usable:
        raise FileNotFoundError("no corrected and confirmed measurement (sidecar whose "
                                "\"confirmed\" state is \"corrected\") found")

    def records():
        for c, pixels in usable:
            hc = c.ellipse.perimeter() * c.pixel_size_mm
            yield (c.scan.name, c.subject, pixels,
                   c.ellipse.filled_mask(pixels.shape, supersample=4), c.pixel_size_mm, hc)

    return write_cache(records(), len(usable), grid_shape, out)
