"""Where the app saves what it measures (issue 23, item 14): opening a shared folder leaves it
as it was until a clinician edits or confirms a scan; Settings can keep the model's results
beside the scans instead."""

from fetalview.core.measure.geometry import Ellipse
from fetalview.core.record.sidecar import fallback_path, sidecar_path
from fetalview.core.record.sidecar_store import load_annotation
from fetalview.gui.dialogs import SettingsDialog

from .conftest import open_folder


def _measured(window, scans):
    return not window.session.queue.running and all(
        load_annotation(p, window.settings.data_dir) is not None for p in scans)


def _scans(folder):
    return sorted(folder.glob("*.png"))


def test_opening_a_folder_writes_nothing_beside_the_scans_until_a_clinician_edits_one(
        qtbot, window, scans, settings):
    said = []
    window.session.info.connect(said.append)
    open_folder(qtbot, window, scans)
    qtbot.waitUntil(lambda: _measured(window, _scans(scans)), timeout=20000)
    assert not list(scans.glob("*.fetalview*.json"))
    assert all(fallback_path(p, settings.data_dir).is_file() for p in _scans(scans))
    shown = window.session.current.path
    window.session.edit_ellipse(Ellipse(300, 200, 90, 70, 5), "a clinician's correction")
    assert [p.name for p in scans.glob("*.fetalview*.json")] == [sidecar_path(shown).name]
    assert load_annotation(shown, settings.data_dir).edited
    assert not [text for text in said if "read-only" in text]  # saved there by choice


def test_settings_keep_automatic_results_beside_the_scans(qtbot, window, scans, settings):
    dialog = SettingsDialog(settings, window)
    qtbot.addWidget(dialog)
    assert not dialog.automatic_beside.isChecked()
    dialog.automatic_beside.setChecked(True)
    dialog.accept()
    assert settings.automatic_beside
    open_folder(qtbot, window, scans)
    qtbot.waitUntil(lambda: _measured(window, _scans(scans)), timeout=20000)
    assert all(sidecar_path(p).is_file() for p in _scans(scans))
