"""The side panels' inputs under the wheel, and the pregnancy panel's dates (issue 20 walkthrough
item 4, issue 22 item 1): a wheel notch over an input nobody clicked into changes nothing and
saves nothing (the panel scrolls); dates are typed whole as year-month-day, start empty, and an
implausible age is questioned before any percentile is shown."""

from datetime import date, timedelta

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QComboBox, QSlider

from fetalview.core.record.sidecar_store import load_annotation
from fetalview.gui.export import caption

from .conftest import open_and_wait


def wheel(widget, notches: int) -> QWheelEvent:
    """One real wheel event of ``notches`` (positive: away from the user) over ``widget``."""
    centre = QPointF(widget.rect().center())
    event = QWheelEvent(centre, QPointF(widget.mapToGlobal(centre.toPoint())), QPoint(),
                        QPoint(0, 120 * notches), Qt.NoButton, Qt.NoModifier, Qt.NoScrollPhase,
                        False)
    QApplication.sendEvent(widget, event)
    return event


def value(widget):
    return widget.currentIndex() if isinstance(widget, QComboBox) else \
        widget.text() if isinstance(widget, QAbstractSpinBox) else widget.value()


def panel_inputs(window):
    roots = (window.panel, window.clinic.queue, window.clinic.frames)
    return [w for root in roots for kind in (QComboBox, QAbstractSpinBox, QSlider)
            for w in root.findChildren(kind)]


def test_the_wheel_over_any_panel_input_changes_nothing_and_saves_nothing(qtbot, window, scans,
                                                                         settings):
    document = open_and_wait(qtbot, window, scans / "249_HC.png")
    window.clinic.frames.show_frames(3, 1)  # a cine loop's frame slider, mid-way
    window.clinic.queue.sort.setCurrentIndex(1)
    window.clinic.queue.filter.setCurrentIndex(1)
    window.view.setFocus()  # the sonographer looks at the scan and scrolls the panel
    inputs = panel_inputs(window)
    names = {type(w).__name__ for w in inputs}
    assert window.clinic.pregnancy.method in inputs and window.panel.brightness in inputs
    assert {"QComboBox", "QSlider"} <= names, names
    saved = load_annotation(scans / "249_HC.png", settings.data_dir)
    undo_count = document.undo_stack.count()
    for widget in inputs:
        before = value(widget)
        for notches in (-1, 1, 2):
            event = wheel(widget, notches)
            assert value(widget) == before, (widget, notches)
            assert not event.isAccepted()  # left to the panel's scroll area, which scrolls
        assert widget.focusPolicy() == Qt.StrongFocus  # the wheel does not give it the focus
        assert not widget.hasFocus()
    assert document.undo_stack.count() == undo_count
    assert load_annotation(scans / "249_HC.png", settings.data_dir) == saved
    assert window.clinic.pregnancy.record() == {}  # "Age from" is still "Not given"


def test_a_panel_input_clicked_into_takes_the_wheel(qtbot, window, scans):
    open_and_wait(qtbot, window, scans / "249_HC.png")
    window.activateWindow()
    slider = window.panel.brightness
    QTest.mouseClick(slider, Qt.LeftButton, Qt.NoModifier, slider.rect().center())
    qtbot.waitUntil(slider.hasFocus)
    before = slider.value()
    wheel(slider, 1)
    assert slider.value() != before


def lmp_panel(qtbot, window, scans):
    document = open_and_wait(qtbot, window, scans / "249_HC.png")  # no exam date in a PNG
    panel = window.clinic.pregnancy
    panel.method.setCurrentText("Last menstrual period")
    return document, panel


def type_date(field, text: str, select=None) -> None:
    """Click into a date field, select all of it (or ``select``: start, length), type, Return."""
    field.line.setFocus()
    if select is None:
        field.line.selectAll()
    else:
        field.line.setSelection(*select)
    QTest.keyClicks(field.line, text)
    QTest.keyClick(field.line, Qt.Key_Return)


def test_dates_start_empty_and_give_no_age_until_typed(qtbot, window, scans):
    document, panel = lmp_panel(qtbot, window, scans)
    assert panel.date_edit.text() == "" and panel.exam_date.text() == ""
    assert panel.date_edit.line.placeholderText() == "yyyy-mm-dd"
    assert document.annotation.extra["pregnancy"] == {"method": "lmp", "lmp": "",
                                                      "exam_date": ""}
    text = panel.result.text()
    assert "0w+0d" not in text and "not understood" not in text and "HC at" not in text
    assert "Gestational age given" not in "\n".join(caption(document))


def test_a_typed_date_is_taken_whole_and_a_day_typed_over_is_that_day(qtbot, window, scans):
    document, panel = lmp_panel(qtbot, window, scans)
    type_date(panel.exam_date, "2026-05-04")
    type_date(panel.date_edit, "2026-01-05")
    assert document.annotation.extra["pregnancy"]["lmp"] == "2026-01-05"
    type_date(panel.date_edit, "20", select=(8, 2))  # the day "05" selected, "20" typed
    assert panel.date_edit.text() == "2026-01-20"
    assert document.annotation.extra["pregnancy"] == {"method": "lmp", "lmp": "2026-01-20",
                                                      "exam_date": "2026-05-04"}
    assert "Gestational age given: 14w+6d" in panel.result.text()
    assert "HC at 14w+6d" in panel.result.text()


def test_a_date_that_does_not_parse_is_refused_with_a_message(qtbot, window, scans):
    document, panel = lmp_panel(qtbot, window, scans)
    type_date(panel.exam_date, "2026-05-04")
    type_date(panel.date_edit, "2026-01-20")
    undo_count = document.undo_stack.count()
    for typed in ("20/01/2026", "2026-02-30", "20 01 2026"):
        type_date(panel.date_edit, typed)
        assert panel.date_edit.text() == "2026-01-20"  # the date in use stays, and is shown
        assert panel.entry_message.isVisibleTo(panel)
        assert "Not taken" in panel.entry_message.text() and "LMP" in panel.entry_message.text()
        assert document.annotation.extra["pregnancy"]["lmp"] == "2026-01-20"
    assert document.undo_stack.count() == undo_count


def test_an_implausible_age_is_questioned_and_gives_no_percentile_until_confirmed(
        qtbot, window, scans, settings):
    document, panel = lmp_panel(qtbot, window, scans)  # the fake head: 14w+6d by HC
    exam = date(2026, 5, 4)
    type_date(panel.exam_date, exam.isoformat())
    type_date(panel.date_edit, (exam - timedelta(weeks=30)).isoformat())  # a month mistyped
    text = panel.result.text()
    assert "Check the dates" in text and "30w+0d" in text and "HC at" not in text
    assert panel.confirm_dates.isVisibleTo(panel)
    assert "HC at" not in "\n".join(caption(document))
    assert document.result().ga is None  # so no SR carries a percentile either

    panel.confirm_dates.click()
    assert "HC at 30w+0d" in panel.result.text() and "Check the dates" not in panel.result.text()
    assert not panel.confirm_dates.isVisibleTo(panel)
    assert load_annotation(scans / "249_HC.png", settings.data_dir).extra["pregnancy"][
        "dates_checked"] is True

    type_date(panel.date_edit, (exam - timedelta(weeks=31)).isoformat())  # other dates: asked again
    assert "Check the dates" in panel.result.text()
    assert "dates_checked" not in document.annotation.extra["pregnancy"]
