"""Viewing: wheel and key zoom, panning, the model's outline and confidence, the status bar,
and the dark theme."""

import threading
from dataclasses import replace

import pytest

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QPalette, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from fetalview.core.record.sidecar_store import load_annotation, save_annotation

from .conftest import drag, open_and_wait, open_folder


def _wheel(view, notches: int) -> None:
    centre = QPointF(view.viewport().rect().center())
    event = QWheelEvent(centre, QPointF(view.viewport().mapToGlobal(centre.toPoint())),
                        QPoint(0, 0), QPoint(0, 120 * notches), Qt.NoButton, Qt.NoModifier,
                        Qt.NoScrollPhase, False)
    QApplication.sendEvent(view.viewport(), event)


def test_wheel_and_keys_zoom_and_fit_returns(qtbot, window, scans):
    window.session.open_paths([scans / "050_HC.png"])
    view = window.view
    fitted = view.zoom
    _wheel(view, 1)
    assert abs(view.zoom - fitted * 1.25) < 1e-6
    _wheel(view, -2)
    assert abs(view.zoom - fitted / 1.25) < 1e-6
    QTest.keyClick(window, Qt.Key_Plus)
    assert abs(view.zoom - fitted) < 1e-6
    QTest.keyClick(window, Qt.Key_Plus)
    assert view.zoom > fitted
    QTest.keyClick(window, Qt.Key_Minus)
    assert abs(view.zoom - fitted) < 1e-6
    _wheel(view, 3)
    QTest.keyClick(window, Qt.Key_F)
    assert abs(view.zoom - fitted) < 1e-9


def test_dragging_the_scan_pans_and_leaves_the_contour_alone(qtbot, window, scans):
    document = open_and_wait(qtbot, window, scans / "050_HC.png")
    view = window.view
    view.zoom_by(4.0)
    before_centre = view.mapToScene(view.viewport().rect().center())
    before = document.annotation
    corner = QPoint(20, 20)  # on the scan, far from every handle at this zoom
    drag(view, corner, corner + QPoint(120, 80))
    after_centre = view.mapToScene(view.viewport().rect().center())
    moved = before_centre - after_centre
    assert abs(moved.x() * view.zoom - 120) < 3 and abs(moved.y() * view.zoom - 80) < 3
    assert document.annotation == before and document.undo_stack.count() == 0


def test_model_outline_and_confidence_can_be_shown(qtbot, window, scans, settings):
    open_and_wait(qtbot, window, scans / "050_HC.png")
    outline = window.view.outline_item
    assert not outline.isVisible() and not outline.path().isEmpty()
    assert "confidence" not in window.panel.details.text()
    window.act_outline.trigger()
    window.act_confidence.trigger()
    assert outline.isVisible() and settings.show_outline
    assert "model confidence 0.95" in window.panel.details.text()
    box = outline.path().boundingRect()
    e = window.session.current.annotation.ellipse
    assert abs(box.center().x() - e.cx) < 2 and abs(box.center().y() - e.cy) < 2
    window.act_outline.trigger()
    assert not outline.isVisible() and not settings.show_outline


def test_the_model_outline_is_shown_again_after_reopening(qtbot, make_window, fake, scans,
                                                          settings):
    window = make_window(fake)
    open_and_wait(qtbot, window, scans / "050_HC.png")
    shown = window.view.outline_item.path().boundingRect()
    saved = load_annotation(scans / "050_HC.png", settings.data_dir).extra["model_outline"]
    assert 3 <= len(saved) <= 64  # simplified from the model's 64 points, within 0.5 px
    window.close()

    again = make_window(fake)
    again.session.open_paths([scans / "050_HC.png"])
    assert fake.calls == 1  # restored from the sidecar, not segmented again
    box = again.view.outline_item.path().boundingRect()
    assert not box.isEmpty()
    for edge in ("left", "top", "right", "bottom"):
        assert abs(getattr(box, edge)() - getattr(shown, edge)()) < 1.0


@pytest.mark.parametrize("damaged", ["not a list", [[1, 2], [3]], [[0, 0], [1e30, 5], [9, 9]],
                                     [[1, 1]] * 20001])
def test_a_damaged_saved_outline_is_ignored(qtbot, make_window, fake, scans, settings, damaged):
    path = scans / "050_HC.png"
    window = make_window(fake)
    open_and_wait(qtbot, window, path)
    window.close()
    a = load_annotation(path, settings.data_dir)
    save_annotation(path, replace(a, extra={**a.extra, "model_outline": damaged}),
                    settings.data_dir)

    again = make_window(fake)
    again.session.open_paths([path])
    assert again.session.current.annotation.ellipse == a.ellipse  # the contour is restored
    assert again.view.outline_item.path().isEmpty()
    assert again.message_bar.text == ""


def test_status_bar_names_the_device_and_what_runs(qtbot, window, fake, scans):
    assert window.activity_label.text() == "Ready"
    fake.gate = threading.Event()
    window.session.open_paths([scans / "050_HC.png"])
    qtbot.waitUntil(lambda: window.activity_label.text() == "Segmenting on CPU...")
    assert window.device_label.text() == "Model on CPU"
    fake.gate.set()
    qtbot.waitUntil(lambda: window.activity_label.text() == "Ready")
    assert window.session.current.annotation.ellipse is not None


def test_segment_on_open_off_leaves_the_scan_to_the_user(qtbot, make_window, fake, settings,
                                                          scans):
    settings.segment_on_open = False
    window = make_window(fake)
    open_folder(qtbot, window, scans)
    window.session.step(1)
    qtbot.wait(50)
    assert fake.calls == 0 and window.session.current.annotation.ellipse is None
    window.act_segment.trigger()
    qtbot.waitUntil(lambda: window.session.current.annotation.ellipse is not None)
    assert fake.calls == 1


def test_dark_theme_is_dark_with_legible_text(qtbot):
    from fetalview.gui.theme import apply_dark_theme
    app = QApplication.instance()
    palette, sheet, style = app.palette(), app.styleSheet(), app.style().name()
    try:
        apply_dark_theme(app)
        p = app.palette()
        for role in (QPalette.Window, QPalette.Base, QPalette.Button):
            assert p.color(role).lightness() < 60, role
        for role in (QPalette.WindowText, QPalette.Text, QPalette.ButtonText):
            assert p.color(role).lightness() > 200, role
    finally:
        app.setStyleSheet(sheet)
        app.setPalette(palette)
        app.setStyle(style)


def test_brightness_and_contrast_leave_exports_and_sidecar_alone(qtbot, window, scans,
                                                                 settings):
    from datetime import datetime

    from fetalview.gui.export import annotated_image
    document = open_and_wait(qtbot, window, scans / "050_HC.png")
    when = datetime(2026, 1, 2, 3, 4)
    plain = annotated_image(document, when)
    saved = document.saved_to.read_bytes()
    window.panel.brightness.setValue(-60)
    window.panel.contrast.setValue(70)
    assert window.view.levels == (-60, 70)
    assert (annotated_image(document, when) == plain).all()
    assert document.saved_to.read_bytes() == saved
    assert document.undo_stack.count() == 0
