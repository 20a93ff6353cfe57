"""The PACS settings dialog as drawn (issue 20, item 9): every placeholder whole, and the
connection's answer never drawn over the note below it, whatever its length."""

from __future__ import annotations

import itertools

from PySide6.QtWidgets import QLabel, QLineEdit, QStyle, QStyleOptionFrame, QWidget

from fetalview.gui.pacs.dialogs import PacsSettings, PacsSettingsDialog

#: What a line edit keeps beside its text inside its contents rect (QLineEditPrivate).
HORIZONTAL_MARGIN = 2
REFUSED = ("The PACS at pacs.clinic.local:4242 refused fetalview's AE title FETALVIEW: ask its "
           "administrator to add it (association rejected).")


def _text_width(edit: QLineEdit) -> int:
    """The width QLineEdit draws its (placeholder) text in."""
    option = QStyleOptionFrame()
    edit.initStyleOption(option)
    rect = edit.style().subElementRect(QStyle.SE_LineEditContents, option, edit)
    margins = edit.textMargins()
    return rect.width() - margins.left() - margins.right() - 2 * HORIZONTAL_MARGIN


def _assert_laid_out_apart(dialog: PacsSettingsDialog) -> None:
    shown = [w for w in dialog.findChildren(QWidget)
             if w.isVisible() and w.parentWidget() is dialog]
    for one, other in itertools.combinations(shown, 2):
        assert not one.geometry().intersects(other.geometry()), (one, other)
    for label in (w for w in shown if isinstance(w, QLabel) and w.wordWrap()):
        assert label.height() >= label.heightForWidth(label.width()), label.text()
        assert dialog.rect().contains(label.geometry()), label.text()


def test_pacs_settings_show_whole_placeholders_and_answers_apart(qtbot):
    dialog = PacsSettingsDialog(PacsSettings())
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert dialog.width() <= 1366 and dialog.height() <= 768
    edits = [e for e in dialog.findChildren(QLineEdit) if e.placeholderText()]
    assert {e.placeholderText() for e in edits} >= {"name or address, e.g. pacs.clinic.local"}
    for edit in edits:
        needed = edit.fontMetrics().horizontalAdvance(edit.placeholderText())
        assert needed <= _text_width(edit), edit.placeholderText()
    _assert_laid_out_apart(dialog)
    for answer in ("Connected to ORTHANC at pacs.clinic.local:4242.", REFUSED):
        dialog._say(answer, answer != REFUSED)  # noqa: SLF001 (what an echo's end calls)
        qtbot.wait(20)
        _assert_laid_out_apart(dialog)
