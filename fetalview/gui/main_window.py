"""The main window: wires the session, the scan view, the side panels and the menus together.

It holds no measurement logic: the session decides, the core computes, and this file shows
the result and turns menu choices and keys into calls.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QKeySequence, QUndoGroup
from PySide6.QtWidgets import (QApplication, QComboBox, QDockWidget, QFileDialog, QFrame,
                               QLabel, QLineEdit, QMainWindow, QMessageBox,
                               QScrollArea, QStackedWidget, QVBoxLayout, QWidget)

from fetalview.bundled import sample_scans_dir
from fetalview.core.record.calipers import (Calipers, bpd_pair, saved_bpd_pair, saved_calipers, with_bpd_pair,
                             with_calipers)
from fetalview.core.measure.ellipse_edit import calibrated_pixel_size
from fetalview.core.io.scans import IMAGE_SUFFIXES
from fetalview.core.measure.biometry import OUTER_INNER
from fetalview.core.io.outputs import output_name
from fetalview.core.measure.pixelsize import PixelSize, PixelSizeError
from fetalview.core.io.safetext import printable
from fetalview.core.measure.skull_edges import short_axis_ends
from fetalview.gui.clinic import install as install_clinic_features
from fetalview.gui.pacs.features import install as install_pacs_features
from fetalview.gui.panels.empty_state import EmptyState
from fetalview.gui.dialogs import (SettingsDialog, ask_export_folder, ask_number, ask_operator,
                      shortcuts_dialog)
from fetalview.core.record.model_result import review_needed
from fetalview.gui.export import ExportError, annotated_image, free_path, save_png
from fetalview.gui.folder.csv_export import FolderCsvExport
from fetalview.gui.folder.panel import FolderPanel
from fetalview.gui.view.images import bgr_qimage
from fetalview.gui.panels.measurement_panel import MeasurementPanel
from fetalview.gui.panels.message_bar import MessageBar
from fetalview.gui.view.scan_view import ScanView
from fetalview.gui.session import Session
from fetalview.gui.settings import AppSettings, default_export_folder, default_operator
from fetalview.gui.panels.toolbar import build_toolbar
from fetalview.gui.view.tools import calibration_tool, distance_tool, manual_tool
from fetalview.gui.worker import SegmentationService, SegmenterFactory

#: Asked before an image of a scan whose file says patient details are burned into its pixels
#: leaves the app (PNG, clipboard, report): the explicit opt-in ``--allow-burned-in`` is in the
#: batch.
BURNED_IN_QUESTION = ("The file of this scan says patient details are burned into its pixels "
                      "(DICOM Burned In Annotation YES): the exported image will show them. "
                      "Export it anyway?")
SCAN_FILTER = "Scans (" + " ".join(f"*{s}" for s in IMAGE_SUFFIXES + (".dcm",)) + ");;All files (*)"


#: The scan list's first width: a sixth of the window, within these bounds (px).
SCANS_DOCK_MIN, SCANS_DOCK_MAX = 255, 400
#: The window's size the first time, where the screen has room for it (else it is maximised)
FIRST_SIZE = QSize(1360, 860)


class MainWindow(QMainWindow):
    """Args:
        settings: where preferences and the sidecar fallback folder live.
        segmenter_factory: builds the Segmenter in the worker thread (tests share one).
        confirm: asks a yes/no question; default a message box (tests answer directly).
    """

    def __init__(self, settings: AppSettings, segmenter_factory: SegmenterFactory | None = None,
                 confirm: Callable[[str], bool] | None = None):
        super().__init__()
        self.settings = settings
        self.setWindowTitle("fetalview")
        self.setAcceptDrops(True)
        self.service = SegmentationService(segmenter_factory, self)
        self.session = Session(settings, self.service, confirm or self._ask, self)
        self.csv_export = FolderCsvExport(self.session, self)
        self.undo_group = QUndoGroup(self)
        self._build_actions()
        self._build_widgets()
        self._build_menus()
        self._connect()
        self.clinic = install_clinic_features(self)
        self.pacs = install_pacs_features(self)
        self._return_focus_to_the_scan()
        self._on_current_changed()
        self.resize(FIRST_SIZE)
        layout = self.settings.window_layout
        self._layout_restored = bool(layout) and self.restoreGeometry(layout[0]) \
            and self.restoreState(layout[1])
        self._scans_width: int | None = None  # the scan list's width as last fitted to

    # --- construction ------------------------------------------------------------------

    def _action(self, text: str, slot, keys=(), tip: str = "", checkable: bool = False,
                canvas: bool = False) -> QAction:
        """A window action; ``canvas`` ones answer their keys only while the scan has the focus
        (Return in a text field must stay that field's own)."""
        action = QAction(text, self)
        action.setShortcuts([QKeySequence(k) for k in keys])
        action.setStatusTip(tip)
        action.setToolTip(f"{text.replace('&', '').rstrip('.')}"
                          + (f" ({QKeySequence(keys[0]).toString(QKeySequence.NativeText)})"
                             if keys else ""))
        action.setCheckable(checkable)
        (action.toggled if checkable else action.triggered).connect(slot)
        if canvas:
            action.setShortcutContext(Qt.WidgetWithChildrenShortcut)
            self._canvas_actions.append(action)
        else:
            self.addAction(action)  # shortcuts work even while a dock has the focus
        return action

    def _build_actions(self) -> None:
        s = self.session
        a = self._action
        self._canvas_actions: list[QAction] = []
        self.act_open = a("&Open scans...", self.open_files_dialog, [QKeySequence.Open])
        self.act_open_folder = a("Open &folder...", self.open_folder_dialog, ["Ctrl+Shift+O"])
        self.act_samples = a("Open &sample scans", self.open_samples, [],
                             "Open the bundled example ultrasound scans")
        self.act_export = a("&Export annotated PNG...", self.export_png_dialog, ["Ctrl+E"])
        self.act_copy = a("&Copy annotated image", self.copy_image, [QKeySequence.Copy])
        self.act_csv = a("Export folder &CSV...", self.export_csv_dialog, ["Ctrl+Shift+E"])
        self.act_export_folder = a("Export fol&der...", self.choose_export_folder, [],
                                   "Where exported images, reports and CSV files go")
        self.act_settings = a("Se&ttings...", self.open_settings, [QKeySequence.Preferences])
        self.act_quit = a("&Quit", self.close, [QKeySequence.Quit])
        self.act_undo = self.undo_group.createUndoAction(self, "&Undo")
        self.act_undo.setShortcuts(QKeySequence.Undo)
        self.act_redo = self.undo_group.createRedoAction(self, "&Redo")
        redo_keys = QKeySequence.keyBindings(QKeySequence.Redo)
        redo_keys += [k for k in map(QKeySequence, ("Ctrl+Y", "Ctrl+Shift+Z"))
                      if k not in redo_keys]  # both, whatever this platform's own
        self.act_redo.setShortcuts(redo_keys)
        self.addActions([self.act_undo, self.act_redo])
        self.act_segment = a("&Run the model", s.segment, ["R"],
                             "Segment the head automatically on this scan")
        self.act_manual = a("Draw by &hand", self.start_manual, ["M"],
                            "Two clicks for the ends of the long axis, a third for the width")
        self.act_reset = a("Reset to &model", s.reset_to_model, ["Ctrl+Shift+R"])
        self.act_distance = a("Measure a &distance", self.start_distance, ["D"],
                              "Two clicks: a caliper pair for any other distance (Delete "
                              "removes the selected one)")
        self.act_confirm_bpd = a("Confirm &BPD calipers", s.confirm_bpd_calipers, ["B"],
                                 "Accept the outer-to-inner BPD calipers where they are")
        self.act_confirm = a("&Confirm contour", self.confirm_contour, ["Return", "Enter"],
                             "Sign the contour off as correct: saved with your name and the time",
                             canvas=True)
        self.act_confirm_next = a("Confirm and &next", self.confirm_and_next, ["Space"],
                                  "Confirm this contour and show the next scan", canvas=True)
        self.act_type_ps = a("&Type pixel size...", self.type_pixel_size, ["Ctrl+Shift+P"])
        self.act_calibrate = a("&Calibrate on a line...", self.start_calibration, ["L"],
                               "Draw a line over a known distance and type its length")
        self.act_next = a("&Next scan", lambda: s.step(1), [QKeySequence.MoveToNextPage, "N"])
        self.act_prev = a("&Previous scan", lambda: s.step(-1),
                          [QKeySequence.MoveToPreviousPage, "P"])
        self.act_zoom_in = a("Zoom &in", lambda: self.view.zoom_by(1.25),
                             [QKeySequence.ZoomIn, "+", "="])
        self.act_zoom_out = a("Zoom &out", lambda: self.view.zoom_by(0.8),
                              [QKeySequence.ZoomOut, "-"])
        self.act_fit = a("&Fit to window", lambda: self.view.fit(), ["F", "Ctrl+0"])
        self.act_outline = a("Show model &outline", self._set_outline_visible, ["O"],
                             checkable=True)
        self.act_confidence = a("Show model &confidence", self._set_confidence_visible, ["C"],
                                checkable=True)
        self.act_shortcuts = a("&Keyboard shortcuts", self.show_shortcuts,
                               [QKeySequence.HelpContents])
        self.act_about = a("&About fetalview", self.show_about)

    def _build_widgets(self) -> None:
        self.view = ScanView()
        self.view.addActions(self._canvas_actions)
        self.message_bar = MessageBar()
        centre = QWidget()
        layout = QVBoxLayout(centre)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.message_bar)
        self.empty_state = EmptyState(self.act_open_folder, self.act_open, self.act_samples)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty_state)
        self.stack.addWidget(self.view)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(centre)
        self.folder_panel = FolderPanel()
        self.panel = MeasurementPanel(
            [self.act_segment, self.act_manual, self.act_reset, self.act_outline,
             self.act_distance, self.act_confirm_bpd],
            [self.act_type_ps, self.act_calibrate])
        scroll = QScrollArea()  # a short screen scrolls the panel instead of squeezing it
        scroll.setWidget(self.panel)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(self.panel.minimumWidth()
                               + scroll.verticalScrollBar().sizeHint().width())
        self.panel_scroll = scroll
        for title, widget, area in (("Scans", self.folder_panel, Qt.LeftDockWidgetArea),
                                    ("Measurement", scroll, Qt.RightDockWidgetArea)):
            dock = QDockWidget(title, self)
            dock.setObjectName(title)
            dock.setWidget(widget)
            dock.setFeatures(QDockWidget.DockWidgetMovable)
            self.addDockWidget(area, dock)
        self.device_label = QLabel("Model: not loaded yet")
        self.activity_label = QLabel("Ready")
        self.queue_label = QLabel()
        self.csv_label = QLabel()
        self.statusBar().addPermanentWidget(self.queue_label)
        self.statusBar().addPermanentWidget(self.csv_label)
        self.statusBar().addPermanentWidget(self.activity_label)
        self.statusBar().addPermanentWidget(self.device_label)
        self.act_outline.setChecked(self.settings.show_outline)
        self.view.outline_item.setVisible(self.settings.show_outline)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addActions([self.act_open, self.act_open_folder])
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addAction(self.act_samples)
        file_menu.addSeparator()
        file_menu.addActions([self.act_export, self.act_copy, self.act_csv,
                              self.act_export_folder])
        file_menu.addSeparator()
        file_menu.addActions([self.act_settings, self.act_quit])
        bar.addMenu("&Edit").addActions([self.act_undo, self.act_redo])
        contour_menu = bar.addMenu("C&ontour")
        contour_menu.addActions([self.act_confirm, self.act_confirm_next])
        contour_menu.addSeparator()
        contour_menu.addActions([self.act_segment, self.act_manual, self.act_reset,
                                 self.act_distance, self.act_confirm_bpd,
                                 self.act_type_ps, self.act_calibrate])
        bar.addMenu("&View").addActions([self.act_zoom_in, self.act_zoom_out, self.act_fit,
                                         self.act_outline, self.act_confidence])
        bar.addMenu("&Go").addActions([self.act_next, self.act_prev])
        bar.addMenu("&Help").addActions([self.act_shortcuts, self.act_about])
        self.toolbar = build_toolbar(self, [
            [("open", "Open", self.act_open), ("folder", "Folder", self.act_open_folder),
             ("previous", "Previous", self.act_prev), ("next", "Next", self.act_next)],
            [("confirm", "Confirm", self.act_confirm),
             ("confirm-next", "OK, next", self.act_confirm_next)],
            [("run", "Run model", self.act_segment), ("draw", "Draw", self.act_manual),
             ("distance", "Distance", self.act_distance), ("undo", "Undo", self.act_undo),
             ("redo", "Redo", self.act_redo)],
            [("export", "Export", self.act_export), ("fit", "Fit", self.act_fit)]])

    def _connect(self) -> None:
        s = self.session
        s.scans_changed.connect(lambda: self.folder_panel.set_scans(
            {p: (s.states[p], s.results.get(p)) for p in s.scans}))
        s.state_changed.connect(lambda path, state: self.folder_panel.set_state(
            path, state, s.results.get(path)))
        s.current_changed.connect(self._on_current_changed)
        s.annotation_changed.connect(self._on_annotation_changed)
        s.error.connect(self.message_bar.show_message)
        s.leaving.connect(self.message_bar.hide)
        s.leaving.connect(self.statusBar().clearMessage)  # its notes were about the last scan
        s.info.connect(lambda text: self.statusBar().showMessage(printable(text), 8000))
        self.folder_panel.chosen.connect(s.go_to)
        self.view.ellipse_item.previewed.connect(self._on_preview)
        self.view.ellipse_item.edited.connect(s.edit_ellipse)
        self.view.bpd_previewed.connect(self._on_bpd_preview)
        self.view.bpd_edited.connect(s.move_bpd_calipers)
        self.view.distance_previewed.connect(self._on_distance_preview)
        self.view.distance_edited.connect(s.move_distance)
        self.view.distance_removed.connect(s.remove_distance)
        self.view.hint.connect(self._show_hint)
        self.panel.levels_changed.connect(self.view.set_levels)
        self.service.progress.connect(self._on_progress)
        s.queue.progress.connect(self._on_queue_progress)
        self.csv_export.progress.connect(self._on_csv_progress)
        self.csv_export.written.connect(self._on_csv_written)
        self.csv_export.failed.connect(self.message_bar.show_message)
        self.service.device_ready.connect(self._on_device_ready)

    # --- showing the session -----------------------------------------------------------

    def _return_focus_to_the_scan(self) -> None:
        """Enter in a side panel's field, or a choice in its list, gives the keyboard back to
        the scan, so N, Return and the other single keys work again at once."""
        for dock in self.findChildren(QDockWidget):
            for field in dock.findChildren(QLineEdit):  # spin and date boxes' fields too
                field.returnPressed.connect(self.view.setFocus)
            for combo in dock.findChildren(QComboBox):
                combo.activated.connect(self.view.setFocus)

    def _on_current_changed(self) -> None:
        d = self.session.current
        self.stack.setCurrentWidget(self.view if self.session.scans else self.empty_state)
        self.view.set_scan(d.scan.pixels if d else None)
        if self.session.shown is not None:
            self.folder_panel.select(self.session.shown)
        if d is not None:
            self.undo_group.addStack(d.undo_stack)
            self.undo_group.setActiveStack(d.undo_stack)
            self.setWindowTitle(printable(f"{d.path.name} ({d.scan.description}) - fetalview"))
        else:
            self.undo_group.setActiveStack(None)
            self.setWindowTitle("fetalview")
        self._on_annotation_changed()

    def _on_annotation_changed(self) -> None:
        d = self.session.current
        a = d.annotation if d else None
        convention = self.settings.bpd_convention
        self.view.set_ellipse(a.ellipse if a else None)
        # amber and dashed while the model's flag awaits a clinician, as in every export
        self.view.ellipse_item.set_doubtful(bool(review_needed(a)))
        self.view.set_outline(d.outline if d else None)
        self._show_calipers()
        self.panel.show_result(d.result(convention) if d else None)
        has_scan, has_contour = d is not None, a is not None and a.ellipse is not None
        for action in (self.act_segment, self.act_manual, self.act_type_ps, self.act_calibrate,
                       self.act_distance, self.act_zoom_in, self.act_zoom_out, self.act_fit,
                       self.act_outline):
            action.setEnabled(has_scan)
        listed = bool(self.session.scans)
        for action in (self.act_next, self.act_prev, self.act_csv):
            action.setEnabled(listed)
        self.panel.brightness.parentWidget().setEnabled(has_scan)
        for action in (self.act_export, self.act_copy, self.act_confirm):
            action.setEnabled(has_contour)
        self.act_confirm_next.setEnabled(has_contour or self._shows_unreadable())
        self.act_reset.setEnabled(a is not None and a.auto_ellipse is not None
                                  and a.ellipse != a.auto_ellipse)
        saved = saved_bpd_pair(a.extra) if a else None
        self.act_confirm_bpd.setEnabled(has_contour and convention == OUTER_INNER
                                        and not (saved and saved[1]))
        self.act_confirm_bpd.setVisible(convention == OUTER_INNER)

    def _show_calipers(self) -> None:
        """The outer-to-inner BPD pair (in that convention) and the distance calipers."""
        d = self.session.current
        a = d.annotation if d else None
        outer_inner = self.settings.bpd_convention == OUTER_INNER
        self.view.ellipse_item.set_short_axis_label("" if outer_inner else "BPD")
        pair, label, suggested = None, "", False
        if outer_inner and a is not None and a.ellipse is not None:
            pair, confirmed = bpd_pair(a, d.scan.pixels)
            label, suggested = ("BPD" if confirmed else "BPD suggested"), not confirmed
            if pair is None:  # no echo to suggest from: start on the ellipse, say so
                pair = Calipers(*(tuple(p) for p in short_axis_ends(a.ellipse)))
                label = "BPD: drag to the skull edges"
        self.view.set_bpd_pair(pair, label, suggested)
        self.view.set_distances(saved_calipers(a.extra) if a else [])

    def _preview(self, **changes) -> None:
        d = self.session.current
        if d is not None:
            self.panel.show_measurement(d.measurement(self.settings.bpd_convention,
                                                      replace(d.annotation, **changes)))

    def _on_preview(self, ellipse) -> None:
        self._preview(ellipse=ellipse)

    def _on_bpd_preview(self, pair) -> None:
        d = self.session.current
        if d is not None:
            saved = saved_bpd_pair(d.annotation.extra)
            self._preview(extra=with_bpd_pair(d.annotation.extra, pair, bool(saved and saved[1])))

    def _on_distance_preview(self, index: int, pair) -> None:
        d = self.session.current
        if d is not None:
            calipers = saved_calipers(d.annotation.extra)
            if 0 <= index < len(calipers):
                calipers[index] = pair
                self._preview(extra=with_calipers(d.annotation.extra, calipers))

    def _set_outline_visible(self, on: bool) -> None:
        self.settings.show_outline = on
        self.view.outline_item.setVisible(on)

    def _set_confidence_visible(self, on: bool) -> None:
        self.panel.set_show_confidence(on)

    def _on_progress(self, text: str) -> None:
        self.activity_label.setText(text[:1].upper() + text[1:] + "..." if text else "Ready")

    def _on_queue_progress(self, done: int, total: int) -> None:
        """The background queue's progress; the label goes when it is done (a passing message
        would cover notes about the shown scan)."""
        self.queue_label.setText(f"Measuring the folder: {done} of {total}"
                                 if done < total else "")

    def _on_csv_progress(self, done: int, total: int) -> None:
        self.csv_label.setText(f"Checking scans for the CSV: {done} of {total}" if total else "")

    def _on_device_ready(self, label: str, fallback: str) -> None:
        self.device_label.setText(f"Model on {label}" + (" (GPU failed)" if fallback else ""))
        if fallback:
            self.message_bar.show_message(f"The GPU could not be used: {fallback}.")

    def _show_hint(self, text: str) -> None:
        if text:
            self.statusBar().showMessage(text)
        else:
            self.statusBar().clearMessage()

    # --- opening -----------------------------------------------------------------------

    def open_files_dialog(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Open scans", self.settings.last_folder,
                                                SCAN_FILTER)
        if files:
            self.session.open_paths([Path(f) for f in files])

    def open_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of scans",
                                                  self.settings.last_folder)
        if folder:
            self.session.open_paths([Path(folder)])

    def open_samples(self) -> None:
        self.session.open_paths([sample_scans_dir()])

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for entry in self.settings.recent:
            self.recent_menu.addAction(entry, lambda p=entry: self.session.open_paths([Path(p)]))
        if self.recent_menu.isEmpty():
            self.recent_menu.addAction("(none yet)").setEnabled(False)

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            self.session.open_paths(paths)
            event.acceptProposedAction()

    # --- tools -------------------------------------------------------------------------

    def start_manual(self) -> None:
        tool = manual_tool(self.view.scene())
        tool.finished.connect(self.session.draw_from_clicks)
        self.view.start_tool(tool)

    def start_distance(self) -> None:
        tool = distance_tool(self.view.scene())
        tool.finished.connect(self.session.add_distance)
        self.view.start_tool(tool)

    def start_calibration(self) -> None:
        tool = calibration_tool(self.view.scene())
        tool.finished.connect(self._on_calibration_line)
        self.view.start_tool(tool)

    def _on_calibration_line(self, points) -> None:
        answer = ask_number(self, "Calibrate", "Length of the line you drew, in mm:", True)
        self.view.setFocus()
        if answer is not None:
            self.apply_calibration(points, *answer)

    def apply_calibration(self, points, length_mm: float, whole_folder: bool = False) -> None:
        try:
            self.session.set_pixel_size(calibrated_pixel_size(points[0], points[1], length_mm),
                                        whole_folder)
        except ValueError as exc:
            self.message_bar.show_message(f"Calibration not applied: {exc}.")

    def type_pixel_size(self) -> None:
        if self.session.current is None:
            return
        answer = ask_number(self, "Pixel size", "Millimetres per pixel:", True)
        self.view.setFocus()
        if answer is not None:
            try:
                size = PixelSize(answer[0], "typed by user")
            except PixelSizeError as exc:
                self.message_bar.show_message(f"Pixel size not applied: {exc}.")
                return
            self.session.set_pixel_size(size, answer[1])

    # --- sign-off ----------------------------------------------------------------------

    def operator(self) -> str | None:
        """Who is signing off: asked once (the login name offered), then kept in the settings."""
        if not self.settings.operator:
            name = ask_operator(self, default_operator())
            self.view.setFocus()
            if name is None:
                self.message_bar.show_message("Not confirmed: a confirmation needs your name.")
                return None
            self.settings.operator = name
        return self.settings.operator

    def confirm_contour(self) -> bool:
        operator = self.operator()
        return operator is not None and self.session.sign_off(operator)

    def _shows_unreadable(self) -> bool:
        return self.session.states.get(self.session.shown) == "unreadable"

    def confirm_and_next(self) -> None:
        """Space: confirm and show the next scan; an unreadable scan has nothing to confirm,
        so Space just moves on (the list keeps it marked unreadable)."""
        if self._shows_unreadable() or self.confirm_contour():
            self.session.step(1)

    # --- export ------------------------------------------------------------------------

    def export_folder(self) -> Path | None:
        """Where exports go: asked the first time (a folder beside the scan folder offered,
        never inside it), then remembered; None when the user cancelled."""
        chosen = Path(self.settings.export_folder) if self.settings.export_folder else None
        if chosen is not None and chosen.is_dir():
            return chosen
        return self.choose_export_folder()

    def choose_export_folder(self) -> Path | None:
        d = self.session.current
        scan_folder = d.path.parent if d else Path(self.settings.last_folder or Path.home())
        remembered = self.settings.export_folder
        folder = ask_export_folder(self, Path(remembered) if remembered
                                   else default_export_folder(scan_folder))
        self.view.setFocus()
        if folder is None:
            return None
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self.message_bar.show_message(f"Cannot make the export folder {folder}: "
                                          f"{exc.strerror or exc}. Choose another with "
                                          "File > Export folder.")
            return None
        self.settings.export_folder = str(folder)
        return folder

    def export_target(self, name: str) -> Path | None:
        """A new file ``name`` in the export folder (numbered when taken: nothing replaced)."""
        folder = self.export_folder()
        return None if folder is None else free_path(folder / name)

    def export_png_dialog(self) -> None:
        d = self.session.current
        path = self.export_target(output_name(d.path.stem, "image", ".png")) if d else None
        if path is not None:
            self.export_png(path)

    def allows_burned_in(self) -> bool:
        """Whether an image of the shown scan may be exported: yes, unless its pixels hold
        patient details and the user, asked, says no."""
        d = self.session.current
        if d is None or not d.scan.burned_in or self.session.confirm(BURNED_IN_QUESTION):
            return True
        self.message_bar.show_message("Not exported: the scan has patient details burned into "
                                      "its pixels.")
        return False

    def export_png(self, path: Path) -> bool:
        if not self.allows_burned_in():
            return False
        try:
            save_png(annotated_image(self.session.current,
                                     convention=self.settings.bpd_convention), path)
        except ExportError as exc:
            self.message_bar.show_message(str(exc))
            return False
        self.statusBar().showMessage(f"Saved {path}", 8000)
        return True

    def copy_image(self) -> None:
        if not self.allows_burned_in():
            return
        try:
            image = annotated_image(self.session.current,
                                    convention=self.settings.bpd_convention)
        except ExportError as exc:
            self.message_bar.show_message(str(exc))
            return
        QApplication.clipboard().setImage(bgr_qimage(image))
        self.statusBar().showMessage("Annotated image copied to the clipboard", 5000)

    def export_csv_dialog(self) -> None:
        folder = self.session.current.path.parent if self.session.current else None
        stem = folder.name if folder else "scans"
        path = self.export_target(output_name(stem, "measurements", ".csv"))
        if path is not None:
            self.export_csv(path)

    def export_csv(self, path: Path) -> bool:
        """Export the listed scans' measurements to ``path`` (``folder_csv``): the scans not
        checked yet are checked in the worker first. False when that failed at once, or while
        an export is still under way."""
        if self.csv_export.running:
            self.message_bar.show_message("The folder CSV is still being exported: its scans "
                                          "are being checked (see the status bar).")
            return False
        return self.csv_export.start(path)

    def _on_csv_written(self, path: Path, rows: int, count: int, set_aside: list[str]) -> None:
        text = f"Saved {count} measured scans to {path}"
        if rows > count:
            text += (f", and {rows - count} listed without a measurement (not measured or "
                     "unreadable: see their status)")
        if set_aside:  # must be read: shown until dismissed
            self.message_bar.show_message(
                f"{text}. Not measured there: {', '.join(set_aside)}, whose saved measurement "
                "was made on other pixels (the scan replaced, or the measurement copied from "
                "another scan); it is set aside, renamed, never deleted. Open the scan to "
                "measure it.")
        else:
            self.statusBar().showMessage(text, 8000)

    # --- dialogs and closing -----------------------------------------------------------

    def _ask(self, question: str) -> bool:
        """Yes or no; No is the default, so a hurried Enter never replaces anything."""
        answer = QMessageBox.question(self, "fetalview", question,
                                      QMessageBox.Yes | QMessageBox.No, QMessageBox.No)
        self.view.setFocus()
        return answer == QMessageBox.Yes

    def open_settings(self) -> None:
        if SettingsDialog(self.settings, self).exec():
            self.session.annotation_changed.emit()  # the BPD convention may have changed

    def show_shortcuts(self) -> None:
        shortcuts_dialog(self.actions(), self).exec()

    def show_about(self) -> None:
        from fetalview import __version__
        QMessageBox.about(self, "About fetalview",
                          f"fetalview {__version__}\nFetal head circumference from 2-D "
                          "ultrasound. The model's contour must be checked by a clinician.")

    def show_on_screen(self) -> None:
        """Shown as the clinician left it; the first time at ``FIRST_SIZE``, or maximised where
        that does not fit with a title bar (a 1366x768 laptop: the status bar and the panel's
        foot would lie below the screen's edge)."""
        room = self.screen().availableGeometry().size()
        if not self._layout_restored and (room.width() < FIRST_SIZE.width() + 40
                                          or room.height() < FIRST_SIZE.height() + 40):
            self.setWindowState(self.windowState() | Qt.WindowMaximized)
        self.show()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._fit_scan_list()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_scan_list()

    def _fit_scan_list(self) -> None:
        """Without a remembered layout the scan list takes a sixth of the window's width
        (whole file names on a wide screen), never less than its share at 1366 px, and follows
        the window (maximised after it was first shown) until the clinician drags its edge."""
        scans = self.findChild(QDockWidget, "Scans")
        if self._layout_restored or not self.isVisible() or (
                self._scans_width is not None and abs(scans.width() - self._scans_width) > 2):
            return
        self._scans_width = max(SCANS_DOCK_MIN, min(SCANS_DOCK_MAX, self.width() // 6))
        self.resizeDocks([scans], [self._scans_width], Qt.Horizontal)

    def closeEvent(self, event) -> None:
        # the window's size and the docks' widths, as the clinician left them
        self.settings.window_layout = (self.saveGeometry(), self.saveState())
        self.view.ellipse_item.end_drag()  # a drag in progress is kept, not lost
        self.session.queue.cancel()
        self.service.shutdown()
        self.session.shutdown()
        super().closeEvent(event)
