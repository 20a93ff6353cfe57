"""The main window: wires the session, the scan view, the side panels and the menus together.

It holds no measurement logic: the session decides, the core computes, and this file shows
the result and turns menu choices and keys into calls. The actions, menus and toolbar are made
in ``menus.py``, opening and exporting are ``files.py`` (a mixin of the window), and the clinic
and PACS features are installed onto the built window (``clinic.py``, ``pacs/features.py``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QUndoGroup
from PySide6.QtWidgets import (QComboBox, QDockWidget, QFrame, QLabel, QLineEdit, QMainWindow,
                               QMessageBox, QScrollArea, QStackedWidget, QStyle, QVBoxLayout,
                               QWidget)

from fetalview.core.record.calipers import (Calipers, bpd_pair, saved_bpd_pair, saved_calipers, with_bpd_pair,
                             with_calipers)
from fetalview.core.measure.ellipse_edit import calibrated_pixel_size
from fetalview.core.measure.biometry import OUTER_INNER
from fetalview.core.measure.pixelsize import PixelSize, PixelSizeError, calibration_question
from fetalview.core.io.safetext import printable
from fetalview.core.measure.skull_edges import short_axis_ends
from fetalview.gui.clinic import install as install_clinic_features
from fetalview.gui.signoff.keys import install as install_confirm_keys
from fetalview.gui.pacs.features import install as install_pacs_features
from fetalview.gui.panels.empty_state import EmptyState
from fetalview.gui.dialogs import SettingsDialog, ask_number, shortcuts_dialog
from fetalview.core.record.model_result import review_needed
from fetalview.gui.files import FileCommands
from fetalview.gui.folder.csv_export import FolderCsvExport
from fetalview.gui.folder.panel import FolderPanel
from fetalview.gui.menus import build_actions, build_menus, window_action
from fetalview.gui.panels.measurement_panel import MeasurementPanel
from fetalview.gui.panels.message_bar import MessageBar
from fetalview.gui.view.scan_view import ScanView
from fetalview.gui.session import Session
from fetalview.gui.panels.signer import install as install_signer
from fetalview.gui.settings import AppSettings
from fetalview.gui.view.tools import calibration_tool, distance_tool, manual_tool
from fetalview.gui.worker import SegmentationService, SegmenterFactory

#: The scan list's first width: a sixth of the window, within these bounds (px).
SCANS_DOCK_MIN, SCANS_DOCK_MAX = 255, 400
#: Below this window width (logical pixels: a 1366 px laptop at 150% is 910) the scan list
#: gives up its floor and takes a sixth like the rest: the scan needs the room more.
SCANS_DOCK_FLOOR_FROM = 1366
#: The window's size the first time, where the screen has room for it (else it is maximised)
FIRST_SIZE = QSize(1360, 860)
#: Room left around a first window for a title bar and frame (px), where a window manager adds
#: them; without one the window must fit the screen all the same.
FRAME_ROOM = 40


def screen_grew(saved: QSize | None, now: QSize, window: QSize) -> bool:
    """Whether a window remembered at ``window`` on a screen of available size ``saved``
    filled that screen, which has since grown to ``now`` (a laptop's layout opened on a
    desktop monitor): then it opens maximised rather than laptop-sized."""
    if saved is None:
        return False
    grew = now.width() > saved.width() * 1.1 or now.height() > saved.height() * 1.1
    return grew and window.width() >= saved.width() * 0.9 \
        and window.height() >= saved.height() * 0.9


class MainWindow(FileCommands, QMainWindow):
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
        build_actions(self)
        self._build_widgets()
        build_menus(self)
        self._connect()
        self.signer = install_signer(self)  # who signs, in the status bar
        self.clinic = install_clinic_features(self)
        self.pacs = install_pacs_features(self)
        self.confirm_keys = install_confirm_keys(self)  # Space and Return, wherever focus is
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
        """A window action (``menus.window_action``); the clinic and PACS features add theirs
        with it."""
        return window_action(self, text, slot, keys, tip, checkable, canvas)

    def _build_widgets(self) -> None:
        self.view = ScanView()
        self.view.addActions(self._canvas_actions)
        self.message_bar = MessageBar()
        centre = QWidget()
        layout = QVBoxLayout(centre)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.message_bar)
        self.empty_state = EmptyState(self.act_open_folder, self.act_open, self.act_samples,
                                      self.act_resume)
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

    def _connect(self) -> None:
        s = self.session
        s.scans_changed.connect(lambda: self.folder_panel.set_scans(
            {p: (s.states[p], s.results.get(p)) for p in s.scans},
            frozenset(p for p in s.scans if s.unsaved(p))))
        s.state_changed.connect(lambda path, state: self.folder_panel.set_state(
            path, state, s.results.get(path), s.unsaved(path)))
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
            d.model_in_use = lambda: self.service.model_version  # another model's result warns
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
        result = d.result(convention) if d else None
        shown = result.measurement if result else None  # a confirmed scan's BPD may be kept
        self._show_calipers(shown is not None and shown.bpd_convention == OUTER_INNER)
        self.panel.show_result(result)
        has_scan, has_contour = d is not None, a is not None and a.ellipse is not None
        for action in (self.act_segment, self.act_manual, self.act_type_ps, self.act_calibrate,
                       self.act_distance, self.act_zoom_in, self.act_zoom_out, self.act_fit,
                       self.act_outline):
            action.setEnabled(has_scan)
        listed = bool(self.session.scans)
        for action in (self.act_next, self.act_prev, self.act_csv, self.act_list_report):
            action.setEnabled(listed)
        self.panel.brightness.parentWidget().setEnabled(has_scan)
        for action in (self.act_export, self.act_copy, self.act_confirm):
            action.setEnabled(has_contour)
        self.act_confirm_next.setEnabled(has_contour or self._shows_unreadable())
        self.act_reset.setEnabled(a is not None and a.auto_ellipse is not None
                                  and a.ellipse != a.auto_ellipse)
        self.act_confirm_bpd.setEnabled(has_contour and convention == OUTER_INNER and not (
            shown.bpd_convention == OUTER_INNER and shown.bpd_confirmed))
        self.act_confirm_bpd.setVisible(convention == OUTER_INNER)

    def _show_calipers(self, bpd_outer_inner: bool) -> None:
        """The outer-to-inner BPD pair (in that convention, or where it is the confirmed BPD)
        and the distance calipers; the short axis is labelled BPD when that is the BPD shown."""
        d = self.session.current
        a = d.annotation if d else None
        outer_inner = self.settings.bpd_convention == OUTER_INNER or bpd_outer_inner
        self.view.ellipse_item.set_short_axis_label("" if bpd_outer_inner else "BPD")
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
        self.csv_label.setText(f"Checking scans for the export: {done} of {total}" if total else "")

    def _on_device_ready(self, label: str, fallback: str) -> None:
        self.device_label.setText(f"Model on {label}" + (" (GPU failed)" if fallback else ""))
        d = self.session.current  # the model in use is known now: see ScanDocument.result
        if d is not None:
            self.panel.show_result(d.result(self.settings.bpd_convention))
        if fallback:
            self.message_bar.show_message(f"The GPU could not be used: {fallback}.")

    def _show_hint(self, text: str) -> None:
        if text:
            self.statusBar().showMessage(text)
        else:
            self.statusBar().clearMessage()

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
            size = calibrated_pixel_size(points[0], points[1], length_mm)
        except ValueError as exc:
            self.message_bar.show_message(f"Calibration not applied: {exc}.")
            return
        self._give_pixel_size(size, whole_folder)

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
            self._give_pixel_size(size, answer[1])

    def _give_pixel_size(self, size: PixelSize, whole_folder: bool) -> None:
        """Apply a pixel size a person typed or calibrated; where it disagrees with the scan's
        own calibration or makes an implausible head, only after a yes to a question naming
        both figures (``calibration_question``): a no keeps the pixel size in use."""
        d = self.session.current
        if d is None:
            return
        e, a = d.annotation.ellipse, d.annotation
        question = calibration_question(size, d.scan.pixel_size_for(e, d.scan.pixel_size),
                                        e.perimeter() if e is not None else None, a.pixel_size)
        if question is not None and not self.session.confirm(question):
            self.message_bar.show_message("Pixel size not changed.")
            return
        self.session.set_pixel_size(size, whole_folder)

    # --- sign-off ----------------------------------------------------------------------

    def operator(self) -> str | None:
        """Who is signing off: the status bar's signer, asked for when nobody is signed in."""
        name = self.signer.name_for_signing()
        if name is None:
            self.message_bar.show_message("Not confirmed: a confirmation needs your name.")
        return name

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
            self.signer.refresh()  # the idle time it states may have changed

    def show_shortcuts(self) -> None:
        shortcuts_dialog(self.actions(), self).exec()

    def show_about(self) -> None:
        from fetalview import __version__
        QMessageBox.about(self, "About fetalview",
                          f"fetalview {__version__}\nFetal head circumference from 2-D "
                          "ultrasound. The model's contour must be checked by a clinician.")

    def show_on_screen(self) -> None:
        """Shown as the clinician left it (maximised where it filled a smaller screen than
        this one: ``screen_grew``); the first time at ``FIRST_SIZE`` within the screen's free
        area, and maximised where that does not fit with a title bar (a 1366x768 laptop: the
        status bar and the panel's foot would lie below the screen's edge). Sized to fit
        before maximising: without a window manager nothing acts on "maximised"."""
        room = self.screen().availableGeometry()
        if self._layout_restored:
            maximise = screen_grew(self.settings.window_screen, room.size(), self.size())
        else:
            fits = FIRST_SIZE.boundedTo(room.size() - QSize(FRAME_ROOM, FRAME_ROOM))
            self.setGeometry(QStyle.alignedRect(Qt.LeftToRight, Qt.AlignCenter,
                                                fits.expandedTo(self.minimumSizeHint())
                                                .boundedTo(room.size()), room))
            maximise = fits != FIRST_SIZE
        if maximise:
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
        (whole file names on a wide screen), never less than its share at 1366 px where the
        window is that wide (at 150% on a laptop the scan would get a third), and follows
        the window (maximised after it was first shown) until the clinician drags its edge."""
        scans = self.findChild(QDockWidget, "Scans")
        if self._layout_restored or not self.isVisible() or (
                self._scans_width is not None and abs(scans.width() - self._scans_width) > 2):
            return
        floor = SCANS_DOCK_MIN if self.width() >= SCANS_DOCK_FLOOR_FROM else 0
        self._scans_width = max(floor, min(SCANS_DOCK_MAX, self.width() // 6))
        self.resizeDocks([scans], [self._scans_width], Qt.Horizontal)

    def closeEvent(self, event) -> None:
        if not self.may_close():  # unsaved work: the user chose to stay
            event.ignore()
            return
        # the window's size and the docks' widths, as the clinician left them
        self.settings.window_layout = (self.saveGeometry(), self.saveState())
        self.settings.window_screen = self.screen().availableGeometry().size()
        self.view.ellipse_item.end_drag()  # a drag in progress is kept, not lost
        self.session.queue.cancel()
        self.service.shutdown()
        self.session.shutdown()
        super().closeEvent(event)
