"""The app meets the hostile-input corpus (tests/hostilefiles.py): every unreadable file is
reported by name and marked unreadable, odd but valid images open, a damaged sidecar never
stops its scan from opening, and the app stays usable throughout."""

from __future__ import annotations

import json
import shutil
import stat

from hostilefiles import bad_sidecars, sidecar_traps, write_corpus

from fetalview.core.measure.pixelsize import PixelSize
from fetalview.core.record.sidecar import alternate_path, fallback_path, sidecar_path

from .conftest import SAMPLES, open_and_wait, open_folder


def test_every_file_of_the_corpus_is_answered(qtbot, window, tmp_path):
    bad, odd = write_corpus(tmp_path / "archive")
    open_folder(qtbot, window, tmp_path / "archive")
    for path in bad:
        window.session.open_paths([path])
        assert f"Cannot open {path.name}" in window.message_bar.text, path.name
        assert window.folder_panel.state_text(path) == "unreadable", path.name
    for path in odd:
        document = open_and_wait(qtbot, window, path)
        assert document.path == path and document.annotation.ellipse is not None


def test_a_damaged_sidecar_of_any_kind_leaves_the_scan_openable(qtbot, window, tmp_path):
    for n, (what, data) in enumerate(bad_sidecars().items()):
        scan = tmp_path / f"{n:02d}_{what}.png"
        shutil.copy(SAMPLES / "050_HC.png", scan)
        sidecar_path(scan).write_bytes(data)
        document = open_and_wait(qtbot, window, scan)
        assert "could not be read" in window.message_bar.text, what
        assert "kept unchanged" in window.message_bar.text, what
        assert document.annotation.ellipse is not None
        assert sidecar_path(scan).read_bytes() == data, what  # measured, saved elsewhere
        assert document.saved_to == alternate_path(scan), what


KEPT = ("newer_version", "huge", "long_list", "linked_to_scan", "pipe")
SET_ASIDE = ("replaced_scan", "copied_sidecar", "missing_frame")


def _fingerprint(path):
    """Size and head of a file (the huge sidecar is 200 MB: not read whole); a pipe is not
    opened (that would wait for a writer)."""
    if stat.S_ISFIFO(path.stat().st_mode):
        return "pipe"
    with open(path, "rb") as f:
        return path.stat().st_size, f.read(4096)


def test_a_sidecar_that_cannot_be_trusted_is_never_written_over(qtbot, window, tmp_path):
    traps = sidecar_traps(tmp_path / "traps")
    before = {name: _fingerprint(sidecar_path(scan)) for name, scan in traps.items()}
    for name in [n for n in KEPT + SET_ASIDE if n in traps]:
        scan = traps[name]
        document = open_and_wait(qtbot, window, scan)
        message = window.message_bar.text
        assert window.folder_panel.state_text(scan) == "auto", name
        assert not document.annotation.edited, name  # measured afresh, not the stale edit
        if name in KEPT:
            assert "could not be read" in message and "kept unchanged" in message, name
            assert _fingerprint(sidecar_path(scan)) == before[name], name
            assert document.saved_to == alternate_path(scan), name
        else:
            assert "does not belong to this scan" in message, name
            aside, = scan.parent.glob(f"{scan.name}.fetalview.other-scan-*.json")
            assert aside.name in message and _fingerprint(aside) == before[name], name
            # measured afresh: an automatic result, kept in the app's data folder
            assert document.saved_to == fallback_path(scan, window.settings.data_dir), name


def test_fields_of_a_readable_sidecar_this_version_does_not_know_survive(qtbot, window,
                                                                          tmp_path):
    scan = sidecar_traps(tmp_path / "traps")["unknown_fields"]
    document = open_and_wait(qtbot, window, scan)
    assert document.annotation.edited and document.annotation.ellipse.cx == 380.0
    window.session.set_pixel_size(PixelSize(0.2, "typed by user"))
    saved = json.loads(sidecar_path(scan).read_text())
    assert saved["review"] == {"state": "signed", "by": "Dr A"} and saved["site"] == "ward 4"
    assert saved["pixel_size"]["mm_per_pixel"] == 0.2 and saved["version"] == 2
