"""Sign-off: the tolerance between "confirmed unchanged" and "corrected and confirmed", the
confirmation in the sidecar, and older sidecars without one."""

import json
from datetime import datetime, timezone

import pytest

from fetalview.core.measure.geometry import Ellipse
from fetalview.core.measure.biometry import measure
from fetalview.core.measure.pixelsize import PixelSize
from fetalview.core.record.review import (HC_TOLERANCE_MM, OUTLINE_TOLERANCE_PX, is_correction,
                                   outline_distance_px, sign_off, standing_signoff)
from fetalview.core.record.sidecar import Annotation, SidecarError, sidecar_path
from fetalview.core.record.sidecar_store import load_annotation, save_annotation

MODEL = Ellipse(300, 200, 150, 110, 20)
PS = PixelSize(0.1, "HC18 CSV")


def test_outline_distance_is_the_largest_gap_between_the_outlines():
    assert outline_distance_px(MODEL, MODEL) == pytest.approx(0, abs=1e-3)
    moved = Ellipse(303, 204, 150, 110, 20)  # centre moved by 5 px
    assert outline_distance_px(MODEL, moved) == pytest.approx(5, abs=0.01)
    longer = Ellipse(300, 200, 152.5, 110, 20)
    assert outline_distance_px(MODEL, longer) == pytest.approx(2.5, abs=0.01)


@pytest.mark.parametrize("ellipse, pixel_size, corrected", [
    (MODEL, PS, False),
    (Ellipse(300.8, 200, 150, 110, 20), PS, False),  # 0.8 px shift, HC the same
    (Ellipse(301.2, 200, 150, 110, 20), PS, True),  # 1.2 px shift: beyond 1 px
    # 0.9 px longer makes HC 3.03 px longer: 0.61 mm at 0.2 mm/px, beyond 0.5 mm...
    (Ellipse(300, 200, 150.9, 110, 20), PixelSize(0.2, "typed"), True),
    (Ellipse(300, 200, 150.9, 110, 20), PS, False),  # ...0.30 mm at 0.1 mm/px
    (Ellipse(300, 200, 150.9, 110, 20), None, False),  # no mm: the outline rule alone
])
def test_corrected_only_beyond_the_stated_tolerance(ellipse, pixel_size, corrected):
    assert (OUTLINE_TOLERANCE_PX, HC_TOLERANCE_MM) == (1.0, 0.5)
    assert is_correction(ellipse, MODEL, pixel_size) is corrected
    assert sign_off("A. Jones", ellipse, MODEL, pixel_size, "m1").corrected is corrected


def test_a_contour_drawn_without_the_model_is_a_correction():
    assert is_correction(MODEL, None, PS)


def test_confirmation_round_trips_through_the_sidecar_and_stands_only_for_its_contour(tmp_path,
                                                                                     paris):
    scan = tmp_path / "001_HC.png"
    scan.write_bytes(b"")
    when = datetime(2026, 11, 27, 8, 14, 5, tzinfo=timezone.utc)
    edited = Ellipse(300, 200, 155, 110, 20)
    signoff = sign_off("A. Jones", edited, MODEL, PS, "resunet-1", now=when)
    a = Annotation("001_HC.png", edited, MODEL, edited=True, model_version="resunet-1",
                   pixel_size=PS, confirmed=signoff)
    save_annotation(scan, a, tmp_path / "appdata")
    data = json.loads(sidecar_path(scan).read_text())
    m = measure(edited, PS)
    assert data["version"] == 2
    assert data["confirmed"] == {
        "by": "A. Jones", "at": "2026-11-27T08:14:05+00:00", "model_version": "resunet-1",
        "hc": m.hc, "bpd": m.bpd, "bpd_convention": "outer-outer", "ofd": m.ofd, "unit": "mm",
        "state": "corrected",
        "ellipse": {"cx": 300.0, "cy": 200.0, "a": 155.0, "b": 110.0, "angle_deg": 20.0},
        "mm_per_pixel": 0.1}
    loaded = load_annotation(scan, tmp_path / "appdata")
    assert loaded.confirmed == signoff and standing_signoff(loaded) == signoff
    assert signoff.words() == ("corrected and confirmed by A. Jones, "
                               "2026-11-27 09:14 CET (UTC+01:00)")
    from dataclasses import replace
    assert standing_signoff(replace(loaded, ellipse=MODEL)) is None
    assert standing_signoff(replace(loaded, pixel_size=PixelSize(0.2, "typed"))) is None


def test_version_1_sidecars_still_load_as_never_confirmed(tmp_path):
    scan = tmp_path / "old.png"
    scan.write_bytes(b"")
    sidecar_path(scan).write_text(json.dumps({
        "format": "fetalview-sidecar", "version": 1, "scan": "old.png", "frame": None,
        "ellipse": {"cx": 1, "cy": 2, "a": 30, "b": 20, "angle_deg": 0}, "auto_ellipse": None,
        "edited": True, "model_version": None, "confidence": None, "pixel_size": None,
        "extra": {}, "saved_at": "2026-01-02T03:04:05+00:00"}))
    loaded = load_annotation(scan, tmp_path / "appdata")
    assert loaded.edited and loaded.confirmed is None


@pytest.mark.parametrize("change, message", [
    (lambda c: c.pop("by"), "confirmed lacks by"),
    (lambda c: c.update(by=""), "confirmed.by must be text"),
    (lambda c: c.update(at="yesterday"), "yesterday"),
    (lambda c: c.update(state="maybe"), "confirmed.state must be one of"),
    (lambda c: c["ellipse"].pop("a"), "confirmed.ellipse lacks a"),
    (lambda c: c.update(hc=float("inf")), "confirmed.hc must be a finite number"),
])
def test_a_damaged_confirmation_refuses_the_whole_sidecar(tmp_path, change, message):
    scan = tmp_path / "s.png"
    scan.write_bytes(b"")
    a = Annotation("s.png", MODEL, MODEL, pixel_size=PS,
                   confirmed=sign_off("A. Jones", MODEL, MODEL, PS, "m1"))
    data = json.loads(save_annotation(scan, a, tmp_path / "appdata").read_text())
    change(data["confirmed"])
    sidecar_path(scan).write_text(json.dumps(data).replace("Infinity", "1e999"))
    with pytest.raises(SidecarError, match=message):
        load_annotation(scan, tmp_path / "appdata")


def test_a_computer_set_to_utc_says_utc_once(monkeypatch):
    import time

    from fetalview.core.record.review import local_time_text
    monkeypatch.setenv("TZ", "UTC0")
    time.tzset()
    try:
        assert local_time_text(datetime(2026, 12, 5, 8, 14, tzinfo=timezone.utc)) == (
            "2026-12-05 08:14 UTC")
    finally:
        monkeypatch.undo()
        time.tzset()
