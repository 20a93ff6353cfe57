"""Where a scan's result is saved: a clinician's work beside the scan, the model's results in
the app-data folder unless the user keeps them beside the scans too (issue 23, item 14: opening
a shared folder wrote a file beside every scan). Reading finds a result wherever it is."""

import json
from dataclasses import replace

import pytest

from fetalview.core.measure.geometry import Ellipse
from fetalview.core.measure.pixelsize import PixelSize
from fetalview.core.record.review import sign_off
from fetalview.core.record.sidecar import Annotation, fallback_path, sidecar_path
from fetalview.core.record.sidecar_store import SidecarStore, load_annotation

MODEL = Ellipse(400.0, 270.0, 180.0, 140.0, 10.0)
#: The model's result as the background queue saves it: nobody has looked at it.
AUTO = Annotation(scan="001_HC.png", ellipse=MODEL, auto_ellipse=MODEL, model_version="m-1",
                  confidence=0.97, pixel_size=PixelSize(0.1, "HC18 CSV"),
                  extra={"unsure_band_px": 2.0})


@pytest.fixture
def scan(tmp_path):
    folder = tmp_path / "shared"
    folder.mkdir()
    path = folder / "001_HC.png"
    path.write_bytes(b"pixels")
    return path


@pytest.fixture
def appdata(tmp_path):
    return tmp_path / "appdata"


def beside(scan):
    return sorted(p.name for p in scan.parent.iterdir() if p != scan)


def test_automatic_results_stay_in_the_data_folder_and_are_read_from_there(scan, appdata):
    saved = SidecarStore(scan, appdata).save_new(AUTO)
    assert saved.path == fallback_path(scan, appdata)
    assert beside(scan) == []
    assert load_annotation(scan, appdata) == saved.annotation
    assert SidecarStore(scan, appdata).save_new(AUTO) is None  # one automatic result, kept
    # the model's result saved by the open document (segment on open, reset to the model)
    assert SidecarStore(scan, appdata).save(replace(AUTO, confidence=0.5)).path \
        == fallback_path(scan, appdata)
    assert beside(scan) == []


@pytest.mark.parametrize("work", [
    lambda a: replace(a, ellipse=Ellipse(405.0, 270.0, 185.0, 140.0, 10.0), edited=True),
    lambda a: replace(a, confirmed=sign_off("Dr A", a.ellipse, a.auto_ellipse, a.pixel_size,
                                            a.model_version)),
    lambda a: replace(a, pixel_size=PixelSize(0.12, "typed by user")),
    lambda a: replace(a, extra={**a.extra, "pregnancy": {"method": "weeks+days", "ga": "20+3"}}),
], ids=["edit", "sign-off", "pixel size typed", "gestational age"])
def test_a_clinicians_work_goes_beside_the_scan_and_outranks_the_automatic_result(
        scan, appdata, work):
    """Also when this computer's clock is ahead of the one that saved the clinician's work:
    an automatic result in the data folder never hides it."""
    store = SidecarStore(scan, appdata)
    store.save_new(AUTO)
    store = SidecarStore(scan, appdata)  # the scan opened: the automatic result is shown
    mine = work(store.newest().annotation)
    assert store.save(mine).path == sidecar_path(scan)
    auto_copy = fallback_path(scan, appdata)
    ahead = json.loads(auto_copy.read_text())
    ahead["saved_at"] = "2999-01-01T00:00:00+00:00"  # saved by a clock far ahead
    auto_copy.write_text(json.dumps(ahead))
    shown = load_annotation(scan, appdata)
    assert replace(shown, saved_at=None) == replace(mine, saved_at=None)


def test_a_later_automatic_save_follows_a_sidecar_beside_the_scan(scan, appdata):
    """Reset to the model after an edit: saved over the edit beside the scan, never into the
    data folder while the edit stays beside the scan for other workstations to show."""
    edited = replace(AUTO, ellipse=Ellipse(405.0, 270.0, 185.0, 140.0, 10.0), edited=True)
    store = SidecarStore(scan, appdata)
    store.save(edited)
    assert store.save(AUTO).path == sidecar_path(scan)
    assert not appdata.exists()
    assert replace(load_annotation(scan, appdata), saved_at=None) == AUTO


def test_automatic_results_beside_the_scans_when_the_user_chose_it(scan, appdata):
    assert SidecarStore(scan, appdata, automatic_beside=True).save_new(AUTO).path \
        == sidecar_path(scan)
    assert not appdata.exists()


def test_an_automatic_result_goes_beside_the_scan_when_the_data_folder_cannot_be_written(
        scan, tmp_path):
    """What is on screen is saved somewhere: the document's save falls back to the scan's
    folder; the background's unsaved result is simply measured again when opened."""
    blocked = tmp_path / "appdata"
    blocked.write_text("a file where the data folder should be")
    assert SidecarStore(scan, blocked).save(AUTO).path == sidecar_path(scan)
    sidecar_path(scan).unlink()
    with pytest.raises(Exception, match="cannot save"):
        SidecarStore(scan, blocked).save_new(AUTO)
    assert beside(scan) == []
