"""The main window's commands: its actions (text, keys, tips), menus and toolbar.

Every command the user can give the window is made here, in one place, so that the keys, the
menu order and the toolbar can be read together; ``MainWindow`` calls ``build_actions`` and
``build_menus`` while it is built, and the slots stay the window's own methods. The clinic and
PACS features (``clinic.py``, ``pacs/features.py``) add their actions with ``window_action``
(``window._action``) after this.
"""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence

from fetalview.gui.panels.toolbar import build_toolbar


def window_action(window, text: str, slot, keys=(), tip: str = "", checkable: bool = False,
                  canvas: bool = False) -> QAction:
    """A window action; ``canvas`` ones answer their keys only while the scan has the focus
    (Return in a text field must stay that field's own)."""
    action = QAction(text, window)
    action.setShortcuts([QKeySequence(k) for k in keys])
    action.setStatusTip(tip)
    action.setToolTip(f"{text.replace('&', '').rstrip('.')}"
                      + (f" ({QKeySequence(keys[0]).toString(QKeySequence.NativeText)})"
                         if keys else ""))
    action.setCheckable(checkable)
    (action.toggled if checkable else action.triggered).connect(slot)
    if canvas:
        action.setShortcutContext(Qt.WidgetWithChildrenShortcut)
        window._canvas_actions.append(action)
    else:
        window.addAction(action)  # shortcuts work even while a dock has the focus
    return action


def build_actions(window) -> None:
    """The window's actions, as ``act_*`` attributes of ``window``."""
    s = window.session
    a = partial(window_action, window)
    window._canvas_actions = []
    window.act_open = a("&Open scans...", window.open_files_dialog, [QKeySequence.Open])
    window.act_open_folder = a("Open &folder...", window.open_folder_dialog, ["Ctrl+Shift+O"])
    window.act_samples = a("Open &sample scans", window.open_samples, [],
                           "Open the bundled example ultrasound scans")
    window.act_resume = a("Resu&me last list", window.resume_last, [],
                          "Open the list worked on last, at the scan where it was left")
    window.act_export = a("&Export annotated PNG...", window.export_png_dialog, ["Ctrl+E"])
    window.act_copy = a("&Copy annotated image", window.copy_image, [QKeySequence.Copy])
    window.act_csv = a("Export folder CS&V...", window.export_csv_dialog, ["Ctrl+Shift+E"])
    window.act_list_report = a("Export l&ist report (PDF)...", window.export_list_report_dialog,
                               [], "One PDF for every listed scan: its figures, review state "
                               "and who confirmed it")
    window.act_export_folder = a("Export fol&der...", window.choose_export_folder, [],
                                 "Where exported images, reports and CSV files go")
    window.act_settings = a("Se&ttings...", window.open_settings, [QKeySequence.Preferences])
    window.act_quit = a("&Quit", window.close, [QKeySequence.Quit])
    window.act_undo = window.undo_group.createUndoAction(window, "&Undo")
    window.act_undo.setShortcuts(QKeySequence.Undo)
    window.act_redo = window.undo_group.createRedoAction(window, "&Redo")
    redo_keys = QKeySequence.keyBindings(QKeySequence.Redo)
    redo_keys += [k for k in map(QKeySequence, ("Ctrl+Y", "Ctrl+Shift+Z"))
                  if k not in redo_keys]  # both, whatever this platform's own
    window.act_redo.setShortcuts(redo_keys)
    window.addActions([window.act_undo, window.act_redo])
    window.act_segment = a("&Run the model", s.segment, ["R"],
                           "Segment the head automatically on this scan")
    window.act_manual = a("Draw by &hand", window.start_manual, ["M"],
                          "Two clicks for the ends of the long axis, a third for the width")
    window.act_reset = a("Reset to &model", s.reset_to_model, ["Ctrl+Shift+R"])
    window.act_distance = a("Measure a &distance", window.start_distance, ["D"],
                            "Two clicks: a caliper pair for any other distance (Delete "
                            "removes the selected one)")
    window.act_confirm_bpd = a("Confirm &BPD calipers",
                               lambda: s.confirm_bpd_calipers(window.operator), ["B"],
                               "Accept the outer-to-inner BPD calipers where they are")
    window.act_confirm = a("&Confirm contour", window.confirm_contour, ["Return", "Enter"],
                           "Sign the contour off as correct: saved with your name and the time",
                           canvas=True)
    window.act_confirm_next = a("Confirm and &next", window.confirm_and_next, ["Space"],
                                "Confirm this contour and show the next scan", canvas=True)
    window.act_type_ps = a("&Type pixel size...", window.type_pixel_size, ["Ctrl+Shift+P"])
    window.act_calibrate = a("Calibrate on a &line...", window.start_calibration, ["L"],
                             "Draw a line over a known distance and type its length")
    window.act_next = a("&Next scan", lambda: s.step(1), [QKeySequence.MoveToNextPage, "N"])
    window.act_prev = a("&Previous scan", lambda: s.step(-1),
                        [QKeySequence.MoveToPreviousPage, "P"])
    window.act_zoom_in = a("Zoom &in", lambda: window.view.zoom_by(1.25),
                           [QKeySequence.ZoomIn, "+", "="])
    window.act_zoom_out = a("Zoom &out", lambda: window.view.zoom_by(0.8),
                            [QKeySequence.ZoomOut, "-"])
    window.act_fit = a("&Fit to window", lambda: window.view.fit(), ["F", "Ctrl+0"])
    window.act_outline = a("Show model out&line", window._set_outline_visible, ["O"],
                           checkable=True)
    window.act_confidence = a("Show model &confidence", window._set_confidence_visible, ["C"],
                              checkable=True)
    window.act_shortcuts = a("&Keyboard shortcuts", window.show_shortcuts,
                             [QKeySequence.HelpContents])
    window.act_about = a("&About fetalview", window.show_about)


def build_menus(window) -> None:
    """The menu bar and the toolbar, from the actions of ``build_actions``."""
    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    file_menu.addActions([window.act_open, window.act_open_folder])
    window.recent_menu = file_menu.addMenu("Open &recent")
    window.recent_menu.aboutToShow.connect(window._fill_recent_menu)
    file_menu.addAction(window.act_resume)
    window.offer_resume()
    file_menu.addAction(window.act_samples)
    file_menu.addSeparator()
    file_menu.addActions([window.act_export, window.act_copy, window.act_csv,
                          window.act_list_report, window.act_export_folder])
    file_menu.addSeparator()
    file_menu.addActions([window.act_settings, window.act_quit])
    bar.addMenu("&Edit").addActions([window.act_undo, window.act_redo])
    contour_menu = bar.addMenu("C&ontour")
    contour_menu.addActions([window.act_confirm, window.act_confirm_next])
    contour_menu.addSeparator()
    contour_menu.addActions([window.act_segment, window.act_manual, window.act_reset,
                             window.act_distance, window.act_confirm_bpd,
                             window.act_type_ps, window.act_calibrate])
    bar.addMenu("&View").addActions([window.act_zoom_in, window.act_zoom_out, window.act_fit,
                                     window.act_outline, window.act_confidence])
    bar.addMenu("&Go").addActions([window.act_next, window.act_prev])
    bar.addMenu("&Help").addActions([window.act_shortcuts, window.act_about])
    window.toolbar = build_toolbar(window, [
        [("open", "Open", window.act_open), ("folder", "Folder", window.act_open_folder),
         ("previous", "Previous", window.act_prev), ("next", "Next", window.act_next)],
        [("confirm", "Confirm", window.act_confirm),
         ("confirm-next", "OK, next", window.act_confirm_next)],
        [("run", "Run model", window.act_segment), ("draw", "Draw", window.act_manual),
         ("distance", "Distance", window.act_distance), ("undo", "Undo", window.act_undo),
         ("redo", "Redo", window.act_redo)],
        [("export", "Export", window.act_export), ("fit", "Fit", window.act_fit)]])
