"""What ``fetalview measure`` says on standard error, as a log or a newcomer reads it: which
scans got no DICOM output and why, no progress bar in a redirected log, ``--version``."""

import shutil

import pytest

from fetalview import __version__
from fetalview.cli import main


@pytest.fixture
def two_scans(tmp_path, samples_dir):
    """One scan with a pixel size (the CSV beside it), one without."""
    folder = tmp_path / "scans"
    folder.mkdir()
    for name in ("249_HC.png", "samples_pixel_size_and_HC.csv"):
        shutil.copy(samples_dir / name, folder / name)
    shutil.copy(samples_dir / "050_HC.png", folder / "lone.png")  # not in the CSV
    return folder


def test_scans_in_pixels_only_are_said_to_get_no_dicom_output(two_scans, tmp_path, capsys):
    out = tmp_path / "dicom"
    main(["measure", str(two_scans), "--out", str(tmp_path / "r.csv"), "--dicom-out", str(out),
          "--device", "cpu"])
    assert sorted(p.name for p in out.iterdir()) == ["249_HC_SC.dcm", "249_HC_SR.dcm"]
    err = capsys.readouterr().err.splitlines()
    assert ("fetalview: lone.png: no DICOM output: measured in pixels only, as no pixel size is "
            "known (a DICOM SR holds millimetres; --pixel-size or --pixel-size-csv gives one)"
            in err)
    assert not [line for line in err if "249_HC.png" in line]
    assert ("fetalview: 2 of 2 scans measured; 1 in pixels only, as no pixel size is known, so "
            "they got no DICOM output") in err


def test_a_redirected_log_gets_one_line_per_message_and_no_progress_bar(two_scans, tmp_path,
                                                                          capsys):
    main(["measure", str(two_scans), "--out", str(tmp_path / "r.csv"), "--device", "cpu"])
    err = capsys.readouterr().err  # pytest's stream, like a file: not a terminal
    assert "\r" not in err and "measuring" not in err and "scan/s" not in err
    assert err.splitlines()[-1] == ("fetalview: 2 of 2 scans measured; 1 in pixels only, as no "
                                    "pixel size is known")


class _Terminal:
    """Standard error as a terminal shows it."""

    def __init__(self):
        self.text = ""

    def write(self, text):
        self.text += text

    def flush(self):
        pass

    def isatty(self):
        return True


def test_a_terminal_still_gets_the_progress_bar(two_scans, tmp_path, monkeypatch):
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    main(["measure", str(two_scans), "--out", str(tmp_path / "r.csv"), "--device", "cpu"])
    assert "measuring: 100%" in terminal.text


@pytest.mark.parametrize("argv", [["--version"], ["measure", "--version"]])
def test_version(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 0
    assert capsys.readouterr().out == f"fetalview {__version__}\n"
