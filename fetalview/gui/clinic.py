"""The clinic features of the main window: cine frames, pregnancy and growth, the review
queue, and the PDF report.

Kept out of ``main_window.py`` so that file stays about the core workflow: ``install`` adds the
widgets and actions to a built window and wires them to its session. Every change the user
makes here goes through the scan's document as one undoable, saved step.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QVBoxLayout, QWidget

from fetalview.core.record.calipers import CALIPER_KEYS
from fetalview.core.measure.growth import PREGNANCY_KEY
from fetalview.core.record.patients import PATIENT_KEY, pregnancy_record
from fetalview.core.io.scans import ScanLoadError, load_scan
from fetalview.core.io.outputs import output_name
from fetalview.gui.view.cine import FrameSlider
from fetalview.gui.document import ScanDocument
from fetalview.core.record.model_result import RESULT_KEYS
from fetalview.gui.panels.inputs import guard_wheel
from fetalview.gui.panels.growth_panel import GrowthPanel
from fetalview.gui.panels.pregnancy_panel import PATIENT_KEYS, PregnancyPanel
from fetalview.gui.folder.review_order import ReviewQueueBar, review_order, shown_by_filter

PATIENT_SETTING = "export/patient_fields"
#: While the background queue brings results, "Doubtful first" sorts again at most this often
#: (ms): each result would otherwise rebuild the list of a large folder.
RESORT_MS = 500
NEW_FRAME_QUESTION = ("This contour was edited by hand on the current frame. Measure another "
                      "frame instead? (Edit > Undo brings your contour back.)")


class ClinicFeatures(QObject):
    """Owns the added widgets; created by ``install``."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.session = window.session
        self.frames = FrameSlider()
        self.pregnancy = PregnancyPanel()
        self.growth = GrowthPanel()
        self.queue = ReviewQueueBar()
        self._arrival: dict[Path, int] = {}
        self._resort = QTimer(self)
        self._resort.setSingleShot(True)
        self._resort.setInterval(RESORT_MS)
        self._resort.timeout.connect(self._sort_ahead)
        self._shown_frame: tuple[ScanDocument | None, int] = (None, 0)
        self._build()
        self._connect()
        self.pregnancy.include_patient.setChecked(self.include_patient_fields)
        self._on_annotation_changed()

    # --- construction ------------------------------------------------------------------

    def _build(self) -> None:
        w = self.window
        w.centralWidget().layout().addWidget(self.frames)
        w.panel.layout().insertWidget(1, self.pregnancy)
        w.panel.layout().insertWidget(2, self.growth)
        dock = w.findChild(QDockWidget, "Scans")
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.queue)
        layout.addWidget(w.folder_panel, 1)
        dock.setWidget(box)
        # the wheel scrolls the panels; an input takes it only once clicked into
        guard_wheel(w.panel, self.queue, self.frames)
        self.act_report = w._action("Export report (&PDF)...", self.export_report_dialog,
                                    ["Ctrl+P"],
                                    "One-page clinical report of this scan")
        file_menu = next(a.menu() for a in w.menuBar().actions() if a.text() == "&File")
        file_menu.insertAction(w.act_csv, self.act_report)

    def _connect(self) -> None:
        s = self.session
        s.current_changed.connect(self._on_annotation_changed)
        s.annotation_changed.connect(self._on_annotation_changed)
        s.scans_changed.connect(self._on_scans_changed)
        s.state_changed.connect(self._on_state_changed)
        self.window.view.ellipse_item.previewed.connect(self._on_preview)
        self.frames.frame_chosen.connect(self.go_to_frame)
        self.pregnancy.record_changed.connect(self._on_record)
        self.pregnancy.patient_assigned.connect(self._on_patient_assigned)
        self.pregnancy.patient_fields_toggled.connect(self._on_patient_toggled)
        self.queue.sort_changed.connect(lambda _: self.sort())
        self.queue.filter_changed.connect(lambda _: self._apply_filter())
        s.in_queue = self._in_queue

    @property
    def include_patient_fields(self) -> bool:
        value = self.window.settings.store.value(PATIENT_SETTING, False)
        return value if isinstance(value, bool) else str(value).lower() == "true"

    def _on_patient_toggled(self, on: bool) -> None:
        self.window.settings.store.setValue(PATIENT_SETTING, bool(on))

    # --- following the session ---------------------------------------------------------

    def _on_annotation_changed(self) -> None:
        d = self.session.current
        self.pregnancy.setEnabled(d is not None)
        if d is None:
            self.frames.show_frames(1, 0)
            self.pregnancy.show_scan({}, {}, None)
            self.pregnancy.patient_label.setText("No scan open.")
            self.growth.show_result(None)
            self.act_report.setEnabled(False)
            return
        frame = d.scan.metadata.get("frame", 0)
        if self._shown_frame[0] is d and self._shown_frame[1] != frame:
            self.window.view.set_scan(d.scan.pixels)  # another frame of the shown scan
            self.window.view.set_ellipse(d.annotation.ellipse)
        self._shown_frame = (d, frame)
        self.frames.show_frames(d.scan.metadata.get("frames", 1), frame)
        patients = self.session.patients
        patient_id, exam = patients.patient_of(d)
        record = pregnancy_record(patients.dating(patient_id), d.annotation.extra, exam)
        result = d.result()
        self.pregnancy.show_scan(d.scan.metadata, record or {}, result,
                                 d.annotation.extra.get(PATIENT_KEY))
        self.growth.show_result(result)
        if patients.problem:
            self.window.message_bar.show_message(patients.problem)
        self.act_report.setEnabled(d.annotation.ellipse is not None)

    def _on_preview(self, ellipse) -> None:
        d = self.session.current
        if d is not None:
            self.pregnancy.show_measurement(
                d.result(annotation=replace(d.annotation, ellipse=ellipse)))

    def _on_record(self, record: dict) -> None:
        """The dating entered: the patient's, kept for all their scans (a PNG's typed exam
        date saved with the scan); a scan with no patient keeps it as its own, as before."""
        d = self.session.current
        if d is None:
            return
        patient_id, exam = self.session.patients.patient_of(d)
        if patient_id is None:
            d.push(replace(d.annotation, extra={**d.annotation.extra, PREGNANCY_KEY: record}),
                   "Set gestational age")
            return
        typed = record.get("exam_date")
        if typed is not None and typed != (exam or "") and not d.scan.metadata.get("exam_date"):
            self._assign(d, {**(d.annotation.extra.get(PATIENT_KEY) or {}), "exam_date": typed},
                         "Set exam date")
        note = self.session.patients.set_dating(d, record)
        if note:
            self.window.message_bar.show_message(note)
        self.session.annotation_changed.emit()  # every figure that follows from the dating

    def _on_patient_assigned(self, patient_id: str) -> None:
        d = self.session.current
        if d is not None:
            self._assign(d, {**(d.annotation.extra.get(PATIENT_KEY) or {}),
                             "patient_id": patient_id}, "Assign patient")

    @staticmethod
    def _assign(d: ScanDocument, assigned: dict, text: str) -> None:
        """Save who and when a PNG/JPEG scan is with the scan, as one undoable step."""
        assigned = {k: v for k, v in assigned.items() if v}
        extra = {k: v for k, v in d.annotation.extra.items() if k != PATIENT_KEY}
        d.push(replace(d.annotation, extra={**extra, **({PATIENT_KEY: assigned} if assigned
                                                        else {})}), text)

    # --- cine frames -------------------------------------------------------------------

    def go_to_frame(self, frame: int) -> None:
        """Measure ``frame`` of the shown cine loop: the contour starts afresh on it."""
        d = self.session.current
        if d is None or frame == (d.annotation.frame or 0):
            return
        a = d.annotation
        if a.edited and a.ellipse is not None and not self.session.confirm(NEW_FRAME_QUESTION):
            self.frames.show_frames(d.scan.metadata.get("frames", 1), a.frame or 0)
            return
        try:
            load_scan(d.path, frame=frame)  # fail here, before anything changes
        except ScanLoadError as exc:
            self.session.error.emit(f"Cannot show frame {frame}: {exc}")
            self.frames.show_frames(d.scan.metadata.get("frames", 1), a.frame or 0)
            return
        extra = {k: v for k, v in a.extra.items() if k not in RESULT_KEYS + CALIPER_KEYS}
        d.push(replace(a, frame=frame, ellipse=None, auto_ellipse=None, edited=False,
                       model_version=None, confidence=None, extra=extra),
               f"Measure frame {frame}")
        if self.window.settings.segment_on_open:
            self.session.segment()

    # --- review queue ------------------------------------------------------------------

    def _on_scans_changed(self) -> None:
        arrived = len(self._arrival)
        for path in self.session.scans:
            self._arrival.setdefault(path, len(self._arrival))
        self._apply_filter()
        if len(self._arrival) > arrived:  # new scans: placed by the order too
            self._sort_soon()

    def _on_state_changed(self, *_) -> None:
        self._apply_filter()
        self._sort_soon()

    def _sort_soon(self) -> None:
        """A state changed (a background result, mostly): in "Doubtful first", sort again
        shortly, once for all the results that come meanwhile."""
        if self.queue.sort.currentText() == "Doubtful first" and not self._resort.isActive():
            self._resort.start()

    def sort(self) -> None:
        """The whole list in the order chosen (the shown scan stays selected and in view)."""
        self._reorder(0)
        panel = self.window.folder_panel
        if self.session.shown is not None:
            panel.select(self.session.shown)
        if panel.currentItem() is not None:
            panel.scrollToItem(panel.currentItem())

    def _sort_ahead(self) -> None:
        """Sort the scans after the shown one again, "Doubtful first", with the results that
        came in. The shown scan and those before it, which the sonographer has passed, keep
        their places: the list does not move under the sonographer's eyes, and Next brings the
        most doubtful scan still ahead (were the whole list sorted, the scan just confirmed
        would sink to the bottom with nothing after it)."""
        s = self.session
        if self.queue.sort.currentText() == "Doubtful first":
            self._reorder(s.scans.index(s.shown) + 1 if s.shown in s.scans else 0)

    def _reorder(self, start: int) -> None:
        """Sort ``session.scans[start:]`` in the order chosen; the list follows if it moved."""
        s = self.session
        annotations = {p: (s.documents[p].annotation if p in s.documents else s.results.get(p))
                       for p in s.scans[start:]}
        ordered = review_order(s.scans[start:], self.queue.sort.currentText(), s.states,
                               annotations, self._arrival)
        if ordered != s.scans[start:]:
            s.scans[start:] = ordered
            s.scans_changed.emit()

    def _in_queue(self, path: Path) -> bool:
        return shown_by_filter(self.session.states.get(path, ""), self.queue.filter.currentText())

    def _apply_filter(self) -> None:
        panel = self.window.folder_panel
        for i in range(panel.count()):
            item = panel.item(i)
            path = item.data(Qt.UserRole)
            item.setHidden(path != self.session.shown and not self._in_queue(path))

    # --- report ------------------------------------------------------------------------

    def export_report_dialog(self) -> None:
        d = self.session.current
        if d is None:
            return
        path = self.window.export_target(output_name(d.path.stem, "report", ".pdf"))
        if path is not None:
            self.export_report(path)

    def export_report(self, path: Path) -> bool:
        from fetalview.report.pdf import write_report

        d = self.session.current
        a = d.annotation if d else None
        if a is None or a.ellipse is None:
            self.window.message_bar.show_message("There is no head contour to report yet.")
            return False
        if not self.window.allows_burned_in():
            return False
        patient = ({k: d.scan.metadata[k] for k, _ in PATIENT_KEYS if d.scan.metadata.get(k)}
                   if self.include_patient_fields else {})
        result = d.result(self.window.settings.bpd_convention)
        try:
            write_report(path, result, d.scan.pixels, patient,
                         clinic=self.window.settings.clinic_name)
        except OSError as exc:
            self.window.message_bar.show_message(f"Cannot write {path}: {exc}. Nothing was "
                                                 "changed; choose another folder.")
            return False
        self.window.statusBar().showMessage(f"Saved {path}", 8000)
        return True


def install(window) -> ClinicFeatures:
    """Add the clinic features to a built ``MainWindow``."""
    return ClinicFeatures(window)
