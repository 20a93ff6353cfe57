"""The app meets the hostile-input corpus (tests/hostilefiles.py): every unreadable file is
reported by name and marked unreadable, odd but valid images open, a damaged sidecar never
stops its scan from opening, and the app stays usable throughout."""

from __future__ import annotations

import shutil

from hostilefiles import bad_sidecars, write_corpus

from fetalview.core.sidecar import sidecar_path

from .conftest import SAMPLES, open_and_wait


def test_every_file_of_the_corpus_is_answered(qtbot, window, tmp_path):
    bad, odd = write_corpus(tmp_path / "archive")
    window.session.open_paths([tmp_path / "archive"])
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
        assert document.annotation.ellipse is not None
