"""One open scan: its pixels, its current annotation, its undo history, and saving.

Every applied annotation is saved to the sidecar at once, so what is on screen is what is on
disk. A failed save keeps the annotation on screen, marks the document unsaved and says why;
the next change (or an explicit retry) writes it again. The core's ``SidecarStore`` decides
where a save may go (never over a sidecar this version cannot fully read) and merges what
another program changed meanwhile; the merged result is then what the document shows.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoStack

from fetalview.core.batch import PixelSizeBook
from fetalview.core.record.calipers import measure_annotation
from fetalview.core.io.scans import Scan, ScanLoadError, load_scan
from fetalview.core.measure.biometry import OUTER_OUTER, Measurement
from fetalview.core.measure.pixelsize import PixelSize
from fetalview.core.record.review import AUTO, EDITED, LOW_CONFIDENCE, NOT_MEASURED, standing_signoff
from fetalview.core.model.segmentation import review_reasons
from fetalview.core.record.sidecar import Annotation, SidecarError, identity_of, mismatch
from fetalview.core.record.sidecar_store import Found, SidecarStore, load_annotation
from fetalview.gui.commands import AnnotationCommand

#: ``Annotation.extra`` key of the model's unsure band (px), kept so that the review flag can be
#: re-judged in millimetres whenever the pixel size changes.
UNSURE_BAND_KEY = "unsure_band_px"
#: ``Annotation.extra`` key of the model's raw outline (a polygon in scan pixels), so that it can
#: still be shown after the scan is reopened. Frame-specific, like the unsure band.
OUTLINE_KEY = "model_outline"
#: Keys of ``Annotation.extra`` that describe one model result and go when the frame changes.
RESULT_KEYS = (UNSURE_BAND_KEY, OUTLINE_KEY)
#: The saved outline follows the model's within this many pixels (a few hundred points).
OUTLINE_TOLERANCE_PX = 0.5
#: More points than a whole-scan outline could need: a longer saved list is not an outline.
MAX_OUTLINE_POINTS = 20000


def outline_record(outline: np.ndarray) -> list[list[float]]:
    """The model's outline as a compact polygon for the sidecar."""
    points = cv2.approxPolyDP(np.asarray(outline, np.float32).reshape(-1, 1, 2),
                              OUTLINE_TOLERANCE_PX, True).reshape(-1, 2)
    return [[round(float(x), 1), round(float(y), 1)] for x, y in points]



def outline_of(annotation: Annotation, shape: tuple[int, int]) -> np.ndarray | None:
    """The saved outline as (N, 2) points on a scan of ``shape``; None when there is none or it
    is damaged (it is a display aid only, so a bad entry is ignored rather than refused)."""
    raw = annotation.extra.get(OUTLINE_KEY)
    if not isinstance(raw, list) or not 3 <= len(raw) <= MAX_OUTLINE_POINTS:
        return None
    try:
        points = np.asarray(raw, np.float32)
    except (TypeError, ValueError, OverflowError):
        return None
    rows, cols = shape
    if points.shape != (len(raw), 2) or not np.isfinite(points).all() \
            or not ((points >= -1) & (points <= (cols, rows))).all():
        return None
    return points


def with_model_result(annotation: Annotation, result) -> Annotation:
    """``annotation`` holding the model's ``result`` (a ``Segmentation`` that found a head) as
    both the contour and the model's own, with what the review flag and display need."""
    extra = {**annotation.extra, UNSURE_BAND_KEY: result.unsure_band_px}
    extra.pop(OUTLINE_KEY, None)
    if result.outline is not None:
        extra[OUTLINE_KEY] = outline_record(result.outline)
    return replace(annotation, ellipse=result.ellipse, auto_ellipse=result.ellipse, edited=False,
                   model_version=result.model_version, confidence=result.confidence,
                   extra=extra)


def with_pixel_size(annotation: Annotation, scan: Scan,
                    folder: PixelSize | None = None) -> tuple[Annotation, str | None]:
    """A saved pixel size kept, else the file's own, an HC18-style CSV's beside the scan, or
    the one the user gave for the scan's ``folder`` (never a guess); then the calibration of
    the region holding the contour. Also returns what the user must be told (a size in the
    folder's CSV refused), or None."""
    ps, note = annotation.pixel_size, None
    if ps is None:
        try:
            ps = PixelSizeBook().lookup(scan.path, scan.pixel_size)
        except ValueError as exc:  # an implausible size in the folder's pixel-size CSV
            note = (f"The pixel size of {scan.path.name} in its folder's CSV is refused "
                    f"({exc}); values stay in pixels until you give one.")
        ps = ps or folder
    return replace(annotation, pixel_size=scan.pixel_size_for(annotation.ellipse, ps)), note


def review_needed(annotation: Annotation | None) -> list[str]:
    """Why an automatic contour needs a clinician's look, in words; empty when it does not
    (or when a person already edited or confirmed it)."""
    if annotation is None or annotation.ellipse is None or annotation.edited \
            or standing_signoff(annotation) is not None:
        return []
    return review_reasons(annotation.confidence, annotation.extra.get(UNSURE_BAND_KEY),
                          annotation.pixel_size)


def scan_state(annotation: Annotation | None) -> str:
    """The state a scan list shows for a saved (or missing) annotation (``core.review``).

    A confirmation that no longer covers the contour (edited since, or another pixel size)
    leaves the scan "edited" until it is confirmed again."""
    if annotation is None or annotation.ellipse is None:
        return NOT_MEASURED
    signoff = standing_signoff(annotation)
    if signoff is not None:
        return signoff.state
    if annotation.edited or annotation.confirmed is not None:
        return EDITED
    return LOW_CONFIDENCE if review_needed(annotation) else AUTO


def saved_state(path: Path, data_dir: Path) -> str:
    """The state of a scan that is listed but not open, from its sidecar (read only)."""
    if not path.is_file():
        return "unreadable"
    try:
        return scan_state(load_annotation(path, data_dir))
    except SidecarError:
        return "not measured"


class ScanDocument(QObject):
    """A scan being measured. ``changed`` fires after every applied annotation."""

    changed = Signal()
    save_failed = Signal(object)  # a text (object: see Session.error)
    note = Signal(object)  # something about the saved file the user must read

    def __init__(self, scan: Scan, annotation: Annotation, store: SidecarStore):
        super().__init__()
        self.scan = scan
        self.annotation = annotation
        self.store = store
        self.undo_stack = QUndoStack(self)
        self.unsaved = False
        self.saved_to: Path | None = None

    @property
    def path(self) -> Path:
        return self.scan.path

    @property
    def state(self) -> str:
        return scan_state(self.annotation)

    @property
    def outline(self) -> np.ndarray | None:
        """The model's raw outline of the current result, for display."""
        return outline_of(self.annotation, self.scan.pixels.shape[:2])

    def measurement(self, convention: str = OUTER_OUTER,
                    annotation: Annotation | None = None) -> Measurement | None:
        """The shown annotation's (or ``annotation``'s, e.g. during a drag) measurement with
        BPD in ``convention``."""
        return measure_annotation(annotation or self.annotation, self.scan.pixels, convention)

    def push(self, after: Annotation, text: str) -> None:
        """Make ``after`` current as one undo step (applied and saved at once)."""
        after = replace(after, pixel_size=self.scan.pixel_size_for(after.ellipse,
                                                                   after.pixel_size))
        if after != self.annotation:
            self.undo_stack.push(AnnotationCommand(self, self.annotation, after, text))

    def edit_ellipse(self, ellipse, text: str) -> None:
        self.push(replace(self.annotation, ellipse=ellipse, edited=True), text)

    def apply(self, annotation: Annotation) -> None:
        """Show and save ``annotation`` (used by the undo commands); an annotation of another
        frame of a cine loop brings that frame's pixels with it."""
        if (annotation.frame or 0) != self.scan.metadata.get("frame", 0):
            self.scan = load_scan(self.path, frame=annotation.frame or 0)
        self.annotation = annotation
        self.save()
        self.changed.emit()

    def save(self) -> bool:
        """Save with the identity of the pixels shown; adopts the merge of another program's
        changes when there was one. That is no undo step of this user's, and undoing an
        earlier one would put back the state before the other's change, dropping it without a
        word: so the undo history starts afresh (cleared once the running command is done)."""
        identity = identity_of(self.scan.pixels, self.scan.metadata.get("frame", 0))
        ours = replace(self.annotation, identity=identity)
        try:
            saved = self.store.save(ours)
        except SidecarError as exc:
            self.unsaved = True
            self.save_failed.emit(str(exc))
            return False
        self.saved_to = saved.path
        self.unsaved = False
        merged = replace(saved.annotation, saved_at=ours.saved_at) != ours
        if merged:
            self.annotation = replace(saved.annotation, saved_at=ours.saved_at)
            QTimer.singleShot(0, self.undo_stack.clear)
        if saved.note:
            self.note.emit(f"{self.path.name}: {saved.note}."
                           + (" Undo starts afresh from here." if merged else ""))
        return True


def open_document(path: Path, fallback_root: Path,
                  folder_pixel_size: PixelSize | None = None) -> tuple[ScanDocument, str | None]:
    """Load a scan and its saved state; returns the document and a warning, if any.

    Pixel size comes, in order, from the sidecar, the file itself (e.g. DICOM), an HC18-style
    CSV in the scan's folder, or the size the user gave for the folder; otherwise it stays
    unknown until the user gives one. A sidecar
    this version cannot read is kept as it is, and one made on other pixels (or naming a frame
    the file does not have) is set aside; the scan then opens unmeasured and the warning says
    so. The warning also carries the scan's notes (``Scan.notes``) and an implausible CSV
    pixel size. Raises ScanLoadError for a bad scan.
    """
    path = Path(path)
    store = SidecarStore(path, fallback_root)
    notes = [_kept(found, store) for found in store.kept]
    scan, saved, stale = load_saved(path, store)
    notes += stale
    saved = saved or Annotation(scan=path.name, frame=scan.metadata.get("frame"))
    notes += [_sentence(note) for note in scan.notes]
    saved, note = with_pixel_size(saved, scan, folder_pixel_size)
    if note:
        notes.append(note)
    return ScanDocument(scan, saved, store), " ".join(notes) or None


def load_saved(path: Path, store: SidecarStore,
               may_set_aside: Callable[[], bool] = lambda: True
               ) -> tuple[Scan, Annotation | None, list[str]]:
    """The scan at ``path`` (at the frame of its newest saved annotation) and that
    annotation, once each newer one made on other pixels (the scan replaced, the sidecar
    copied beside another scan, a frame the file lacks) is set aside, renamed and never
    deleted; the notes say so. The one identity check of a scan opened or measured in the
    background. When ``may_set_aside()`` says no (the scan was opened meanwhile, and its
    document decides) a stale annotation is neither renamed nor returned. ScanLoadError for
    a bad scan."""
    newest = store.newest()
    frame = (newest.annotation.frame or 0) if newest else 0
    try:
        scan = load_scan(path, frame=frame)
    except ScanLoadError:
        if frame == 0:
            raise
        scan = load_scan(path)  # the sidecar's frame is not in this file; it is set aside
    identity = identity_of(scan.pixels, scan.metadata.get("frame", 0))
    notes = []
    while newest is not None and (why := mismatch(newest.annotation, identity, path.name)):
        if not may_set_aside():
            return scan, None, notes
        aside = store.set_aside(newest, "other-scan")
        kept = f"it is kept as {aside.name}" if aside else "it is kept unchanged"
        notes.append(f"The saved measurement of {path.name} does not belong to this scan "
                     f"({why}): {kept}, unused.")
        newest = store.newest()
    return scan, newest.annotation if newest else None, notes


def _sentence(text: str) -> str:
    text = text.rstrip()
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _kept(found: Found, store: SidecarStore) -> str:
    places = store.places_to_save()
    where = f"saved as {places[0].name}" if places else "not saved"
    why = str(found.error).removeprefix(f"{found.path}: ")  # the name is said already
    return (f"The saved measurement {found.path.name} could not be read by this version of "
            f"fetalview ({why}). It is kept unchanged; measurements made here are {where}.")
