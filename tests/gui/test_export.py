"""Exports: the annotated PNG, the clipboard, the folder CSV, and failures that lose nothing."""

import csv
from datetime import datetime

import cv2
import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

from fetalview.core.batch import CSV_COLUMNS
from fetalview.core.results.overlay import ELLIPSE_BGR, WARNING_BGR
from fetalview.core.record.sidecar import sidecar_path
from fetalview.gui.export import EXPORT_CSV_COLUMNS

from .conftest import FakeSegmenter, open_and_wait, open_folder


def test_exported_png_has_the_overlay_where_the_contour_is(qtbot, make_window, segmenter, scans,
                                                           tmp_path):
    window = make_window(segmenter)
    document = open_and_wait(qtbot, window, scans / "050_HC.png")
    out = tmp_path / "export" / "050_annotated.png"
    out.parent.mkdir()
    assert window.export_png(out)
    image = cv2.imread(str(out), cv2.IMREAD_COLOR)
    h, w = document.scan.pixels.shape
    assert image.shape[1] == w and image.shape[0] > h  # full resolution, caption band below
    e = document.annotation.ellipse
    on_contour = np.round(e.points(90)).astype(int)
    colours = image[on_contour[:, 1], on_contour[:, 0]].astype(int)
    coloured = np.ptp(colours, axis=1) > 40  # the scan is gray; contour and axes are not
    assert coloured.mean() > 0.9
    greenish = np.abs(colours - np.array(ELLIPSE_BGR)).sum(axis=1) < 120
    assert greenish.mean() > 0.7  # mostly the contour's own colour (axes cross it at 4 ends)
    inside = np.round(e.points(90) * 0.5 + [e.cx * 0.5, e.cy * 0.5]).astype(int)
    gray = image[inside[:, 1], inside[:, 0]].astype(int)
    assert (np.ptp(gray, axis=1) <= 2).mean() > 0.9  # the scan itself stays gray
    assert not list(out.parent.glob("*.tmp"))


def test_a_flagged_contour_is_exported_amber_until_confirmed(qtbot, make_window, scans, tmp_path,
                                                            answers):
    window = make_window(FakeSegmenter(confidence=0.5))
    document = open_and_wait(qtbot, window, scans / "050_HC.png")
    on_contour = np.round(document.annotation.ellipse.points(90)).astype(int)

    def share_near(colour, name):
        out = tmp_path / name
        assert window.export_png(out)
        image = cv2.imread(str(out), cv2.IMREAD_COLOR)
        colours = image[on_contour[:, 1], on_contour[:, 0]].astype(int)
        return (np.abs(colours - np.array(colour)).sum(axis=1) < 120).mean()

    assert share_near(WARNING_BGR, "flagged.png") > 0.7
    answers.append(True)  # yes, confirm the flagged contour
    assert window.session.sign_off("Dr A. Test")
    assert document.state == "confirmed"
    assert share_near(ELLIPSE_BGR, "confirmed.png") > 0.7


def test_export_names_unit_source_and_state(qtbot, window, scans, monkeypatch):
    import fetalview.core.results.overlay as overlay
    seen = {}
    real = overlay.render_overlay
    monkeypatch.setattr(overlay, "render_overlay",
                        lambda pixels, e, lines, *rest, **kw: seen.setdefault("lines", lines)
                        and real(pixels, e, lines, *rest, **kw))
    open_and_wait(qtbot, window, scans / "050_HC.png")
    window.copy_image()
    text = "\n".join(seen["lines"])
    assert "050_HC.png" in text and " mm" in text and "CSV samples_pixel_size_and_HC" in text
    assert "automatic (not reviewed)" in text and "model fake-1" in text


def test_copy_to_clipboard_is_full_resolution(qtbot, window, scans):
    document = open_and_wait(qtbot, window, scans / "050_HC.png")
    window.copy_image()
    image = QApplication.clipboard().image()
    h, w = document.scan.pixels.shape
    assert image.width() == w and image.height() > h  # the scan at full size, caption below


def test_read_only_export_target_shows_an_error_and_loses_nothing(qtbot, window, scans, tmp_path,
                                                                   monkeypatch):
    import fetalview.gui.export as export
    document = open_and_wait(qtbot, window, scans / "050_HC.png")
    shown = document.annotation

    def read_only(path, data):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(export, "write_atomic", read_only)
    target = tmp_path / "readonly" / "x.png"
    assert not window.export_png(target)
    assert "Cannot write" in window.message_bar.text and "Permission denied" in window.message_bar.text
    assert not window.export_csv(tmp_path / "readonly" / "x.csv")
    assert not target.exists() and document.annotation == shown
    assert window.act_export.isEnabled()


def test_folder_csv_has_batch_columns_then_the_review(qtbot, window, scans, tmp_path):
    document = open_and_wait(qtbot, window, scans / "050_HC.png")
    open_folder(qtbot, window, scans)  # lists 249_HC.png too
    window.session.go_to(scans / "249_HC.png")
    qtbot.waitUntil(lambda: window.session.current.annotation.ellipse is not None)
    window.session.draw_from_clicks([(200, 250), (500, 250), (350, 380)])
    assert window.session.sign_off("A. Jones")
    out = tmp_path / "measurements.csv"
    assert window.export_csv(out)
    with open(out, newline="") as f:
        rows = {r["filename"]: r for r in csv.DictReader(f)}
    assert list(next(iter(rows.values()))) == EXPORT_CSV_COLUMNS
    assert EXPORT_CSV_COLUMNS[:len(CSV_COLUMNS) + 1] == CSV_COLUMNS + ["edited"]
    assert EXPORT_CSV_COLUMNS[-3:] == ["review", "reviewed_by", "reviewed_at"]
    auto, corrected = rows["050_HC.png"], rows["249_HC.png"]
    assert (auto["status"], auto["edited"], auto["review"], auto["reviewed_by"],
            auto["reviewed_at"]) == ("ok", "no", "auto", "", "")
    assert (corrected["status"], corrected["edited"], corrected["review"],
            corrected["reviewed_by"]) == ("ok", "yes", "corrected", "A. Jones")
    assert datetime.fromisoformat(corrected["reviewed_at"]).utcoffset().total_seconds() == 0
    assert float(rows["050_HC.png"]["hc_mm"]) == pytest.approx(document.measurement().hc,
                                                              abs=0.01)


def test_unsaveable_sidecar_keeps_the_contour_and_says_so(qtbot, window, scans, monkeypatch):
    import fetalview.core.record.sidecar_store as store
    document = open_and_wait(qtbot, window, scans / "050_HC.png")

    def disk_full(path, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store, "write_atomic", disk_full)
    window.session.draw_from_clicks([(200, 250), (500, 250), (350, 380)])
    assert document.annotation.edited and document.unsaved
    assert "Not saved" in window.message_bar.text and "No space left" in window.message_bar.text
    assert window.view.ellipse_item.ellipse == document.annotation.ellipse
    monkeypatch.undo()
    window.session.draw_from_clicks([(210, 250), (500, 250), (350, 380)])
    assert not document.unsaved and sidecar_path(document.path).exists()


def test_read_only_scan_folder_saves_in_app_data_and_says_so(qtbot, window, scans, settings,
                                                             monkeypatch):
    import fetalview.core.record.sidecar_store as store
    from fetalview.core.record.sidecar import fallback_path
    real = store.write_atomic

    def read_only_scan_folder(path, data):
        if path.parent == scans:
            raise PermissionError(13, "Permission denied")
        real(path, data)

    monkeypatch.setattr(store, "write_atomic", read_only_scan_folder)
    settings.automatic_beside = True  # else the model's result goes there by choice, unsaid
    document = open_and_wait(qtbot, window, scans / "050_HC.png")
    assert document.saved_to == fallback_path(document.path, settings.data_dir)
    assert "read-only" in window.statusBar().currentMessage()
    assert not sidecar_path(document.path).exists() and not document.unsaved


def test_without_pixel_size_exports_say_pixels_and_give_no_mm(qtbot, window, scans, tmp_path,
                                                              monkeypatch):
    import re

    import fetalview.core.results.overlay as overlay
    seen = {}
    real = overlay.render_overlay
    monkeypatch.setattr(overlay, "render_overlay",
                        lambda pixels, e, lines, *rest, **kw: seen.setdefault("lines", lines)
                        and real(pixels, e, lines, *rest, **kw))
    folder = tmp_path / "no_csv"
    folder.mkdir()
    (folder / "050_HC.png").write_bytes((scans / "050_HC.png").read_bytes())
    open_and_wait(qtbot, window, folder / "050_HC.png")
    window.session.draw_from_clicks([(200, 250), (500, 250), (350, 380)])
    assert window.export_png(tmp_path / "out.png")
    text = "\n".join(seen["lines"])
    values = [line for line in seen["lines"] if line.split()[0] in ("HC", "BPD", "OFD")]
    assert len(values) == 3 and all(" px" in v and "mm" not in v for v in values), values
    assert "values in pixels, not mm" in text and "edited, not confirmed yet" in text
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", text), "the export is dated"
    assert window.export_csv(tmp_path / "out.csv")
    with open(tmp_path / "out.csv", newline="") as f:
        (row,) = list(csv.DictReader(f))
    assert row["hc_mm"] == row["bpd_mm"] == row["ofd_mm"] == row["pixel_size_mm"] == ""
    assert float(row["semi_axis_a_px"]) == pytest.approx(150) and row["edited"] == "yes"


def test_exporting_with_no_scan_open_says_so(qtbot, window, tmp_path):
    assert window.session.current is None
    assert not window.export_png(tmp_path / "x.png")
    assert "nothing to export" in window.message_bar.text
    window.message_bar.hide()
    window.copy_image()
    assert "nothing to export" in window.message_bar.text
    assert not (tmp_path / "x.png").exists()


def test_export_caption_gives_gestational_age_and_percentile(qtbot, window, scans):
    from dataclasses import replace

    from fetalview.gui.export import caption
    document = open_and_wait(qtbot, window, scans / "050_HC.png")
    before = "\n".join(caption(document))
    assert "Hadlock" in before and "INTERGROWTH" not in before
    dated = replace(document.annotation,
                    extra={**document.annotation.extra,
                           "pregnancy": {"method": "weeks+days", "ga": "20+0"}})
    document.push(dated, "Gestational age")
    text = "\n".join(caption(document))
    assert "HC at 20w+0d:" in text and "percentile" in text and "INTERGROWTH-21st" in text
