"""Opening scans and exporting results from the main window: the File menu's dialogs, the
recent list, drag and drop, the export folder, and the PNG, clipboard and folder CSV exports;
and, at closing, the scans whose latest change could not be saved (a full disk): the window
never closes over them without asking (save elsewhere, retry, discard, or stay).

A mixin of ``MainWindow`` rather than a feature ``install``ed onto it (as ``clinic.py`` and
``pacs/features.py`` are): these are the window's own File commands, made with its other
actions (``menus.py``), and the clinic and PACS features, the app and the tests call them as
the window's methods (``window.export_png``, ``window.export_target``...). It uses the window's
``session``, ``settings``, ``csv_export``, ``view``, ``message_bar`` and status bar.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from fetalview.bundled import copy_samples
from fetalview.core.io.outputs import output_name
from fetalview.core.io.safetext import display_name
from fetalview.core.io.scans import IMAGE_SUFFIXES
from fetalview.gui.dialogs import ask_export_folder
from fetalview.gui.export import (ExportError, annotated_image, free_path, save_list_report,
                                  save_png)
from fetalview.gui.settings import RecentList, default_export_folder
from fetalview.gui.view.images import bgr_qimage

#: Asked before an image of a scan whose file says patient details are burned into its pixels
#: leaves the app (PNG, clipboard, report): the explicit opt-in ``--allow-burned-in`` is in the
#: batch.
BURNED_IN_QUESTION = ("The file of this scan says patient details are burned into its pixels "
                      "(DICOM Burned In Annotation YES): the exported image will show them. "
                      "Export it anyway?")
UNSAVED_QUESTION = ("{count} not saved: {names}. Its latest change is only on screen{why}; "
                    "closing now loses it.\n\nSave elsewhere... writes each one into a folder "
                    "you choose, as <scan>.fetalview.json: put that file beside its scan to "
                    "use it. Retry saves again where it belongs (once there is room).")
#: The answers to ``UNSAVED_QUESTION``, as ``ask_unsaved`` returns them.
ELSEWHERE, RETRY, DISCARD, STAY = "save elsewhere", "retry", "discard", "stay"
#: Under the app's data folder: where "Try a sample scan" copies the bundled samples to.
SAMPLES_FOLDER = "sample scans"
SCAN_FILTER = "Scans (" + " ".join(f"*{s}" for s in IMAGE_SUFFIXES + (".dcm",)) + ");;All files (*)"


class FileCommands:
    """Opening and exporting, as methods of ``MainWindow``."""

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
        """The bundled samples, opened from a copy in the app's data folder (see
        ``bundled.copy_samples``)."""
        folder = self.settings.data_dir.parent / SAMPLES_FOLDER
        try:
            self.session.open_paths([copy_samples(folder)])
        except OSError as exc:
            self.message_bar.show_message(f"The sample scans cannot be copied to {folder} "
                                          f"({exc.strerror or exc}), so they are not opened.")

    def _fill_recent_menu(self) -> None:
        """The lists opened lately, folders first (a clinic works through folders), each taken
        up again at the scan where it was left."""
        self.recent_menu.clear()
        for entry in sorted(self.settings.recent_lists, key=lambda e: not e.folders):
            self.recent_menu.addAction(entry.label, lambda e=entry: self.resume(e))
        if self.recent_menu.isEmpty():
            self.recent_menu.addAction("(none yet)").setEnabled(False)
        self.offer_resume()

    def offer_resume(self) -> None:
        """File > Resume last list, and the empty window's button, name the newest list."""
        lists = self.settings.recent_lists
        self.act_resume.setEnabled(bool(lists))
        self.act_resume.setStatusTip(lists[0].label if lists else "")

    def resume_last(self) -> None:
        lists = self.settings.recent_lists
        if lists:
            self.resume(lists[0])

    def resume(self, entry: RecentList) -> None:
        """Open ``entry``'s folders or scans again and show the scan where it was left once a
        listing brings it (files join at once, folders when listed on the worker thread)."""
        listings = [sum(p.is_dir() for p in entry.paths)]  # still to come

        def arrived(folder=None) -> None:
            if folder is not None:
                listings[0] -= 1
            if entry.at in self.session.states or listings[0] <= 0:
                self.session.listed.disconnect(arrived)
                if entry.at in self.session.states:
                    self.session.go_to(entry.at)
        self.session.listed.connect(arrived)
        self.session.open_paths(list(entry.paths))
        arrived()

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            self.session.open_paths(paths)
            event.acceptProposedAction()

    # --- export ------------------------------------------------------------------------

    def export_folder(self) -> Path | None:
        """Where the shown list's exports go: asked the first time for each folder of scans (a
        folder beside it offered, never inside it), then remembered for that folder; None when
        the user cancelled."""
        chosen = self.settings.export_folder_for(self._scans_folder())
        if chosen is not None and chosen.is_dir():
            return chosen
        return self.choose_export_folder()

    def _scans_folder(self) -> Path:
        """The folder of the list being exported: the shown scan's."""
        d = self.session.current
        return d.path.parent if d else Path(self.settings.last_folder or Path.home())

    def choose_export_folder(self) -> Path | None:
        scans = self._scans_folder()
        folder = ask_export_folder(self, self.settings.export_folder_for(scans)
                                   or default_export_folder(scans), scans)
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
        self.settings.set_export_folder_for(scans, folder)
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

    def export_list_report_dialog(self) -> None:
        folder = self.session.current.path.parent if self.session.current else None
        path = self.export_target(output_name(folder.name if folder else "scans", "list_report",
                                              ".pdf"))
        if path is not None:
            self.export_list_report(path)

    def export_list_report(self, path: Path) -> bool:
        """One PDF of every listed scan (``report.list_pdf``), checked as for the folder CSV;
        named by the list's folders. False when it failed at once, or while an export of the
        list is still under way."""
        if self.csv_export.running:
            self.message_bar.show_message("An export of the list is still under way: its scans "
                                          "are being checked (see the status bar).")
            return False
        folders = list(dict.fromkeys(str(p.parent) for p in self.session.scans))
        title = folders[0] + (f" and {len(folders) - 1} more folders" if len(folders) > 1 else "")
        return self.csv_export.start(path, partial(save_list_report, title=title))

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

    # --- closing with unsaved work -----------------------------------------------------

    def may_close(self) -> bool:
        """Whether the window may close: yes when every change is on disk, else as the user
        answers (saved elsewhere or again, or discarded knowingly); asked until it is so."""
        why = ""
        while unsaved := [p for p in self.session.scans if self.session.unsaved(p)]:
            names = ", ".join(display_name(p) for p in unsaved)
            count = "1 scan is" if len(unsaved) == 1 else f"{len(unsaved)} scans are"
            answer = self.ask_unsaved(UNSAVED_QUESTION.format(count=count, names=names,
                                                              why=why))
            if answer == DISCARD:
                return True
            if answer == STAY:
                return False
            if answer == RETRY:
                self.session.retry_saves()
                why = " (the retry failed: see the message above the scan)"
            elif answer == ELSEWHERE:
                failed = self._save_elsewhere(unsaved)
                if failed is None:
                    return True
                why = f" (not written elsewhere either: {failed})" if failed else ""
        return True

    def _save_elsewhere(self, paths: list[Path]) -> str | None:
        """Write each unsaved scan's annotation into a folder the user picks; None when all
        were written, else why not ("" when no folder was picked)."""
        folder = QFileDialog.getExistingDirectory(self, "Save the unsaved measurements in")
        if not folder:
            return ""
        for path in paths:
            try:
                self.session.documents[path].save_copy(Path(folder))
            except OSError as exc:
                return f"{folder}: {exc.strerror or exc}"
        return None

    def ask_unsaved(self, question: str) -> str:
        """The unsaved-work question; Esc (and closing the box) stays, so nothing is lost
        by a hurried key."""
        box = QMessageBox(QMessageBox.Warning, "fetalview", question, parent=self)
        buttons = {box.addButton("Save elsewhere...", QMessageBox.AcceptRole): ELSEWHERE,
                   box.addButton("Retry", QMessageBox.ActionRole): RETRY,
                   box.addButton("Discard", QMessageBox.DestructiveRole): DISCARD}
        stay = box.addButton("Don't close", QMessageBox.RejectRole)
        box.setDefaultButton(stay)
        box.setEscapeButton(stay)
        box.exec()
        return buttons.get(box.clickedButton(), STAY)
