"""What a newcomer reads first: ``fetalview --help`` names both commands, every option of every
command line explains itself, and the training commands run from any folder."""

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fetalview.app_args import app_parser
from fetalview.cli import _measure_parser, main

ROOT = Path(__file__).resolve().parents[1]


def test_fetalview_help_shows_the_measure_command(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    out = capsys.readouterr().out
    assert info.value.code == 0
    assert "fetalview measure PATH" in out and "fetalview measure --help" in out


def test_help_does_not_start_qt():
    code = ("import sys\nfrom fetalview.cli import main\ntry:\n    main(['--help'])\n"
            "except SystemExit:\n    pass\nprint('PySide6.QtWidgets' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, timeout=60).stdout
    assert out.strip().endswith("False")


def _training_parser():
    sys.path.insert(0, str(ROOT))
    try:
        from training.__main__ import _parser
    finally:
        sys.path.remove(str(ROOT))
    return _parser()


def _options(parser: argparse.ArgumentParser, where: str):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _options(sub, f"{where} {name}")
        elif not isinstance(action, argparse._HelpAction):
            yield where, action


@pytest.mark.parametrize("name", ["fetalview", "fetalview measure", "python -m training"])
def test_every_option_has_help_text(name):
    parser = {"fetalview": app_parser, "fetalview measure": _measure_parser,
              "python -m training": _training_parser}[name]()
    missing = [f"{where}: {'/'.join(a.option_strings) or a.dest}"
               for where, a in _options(parser, name) if not a.help]
    assert missing == []


def test_training_runs_from_any_folder(tmp_path):
    """``python -m training`` needs the checkout's root as the current folder (training is not
    installed); ``python CHECKOUT/training`` works from anywhere, as its help says."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    run = subprocess.run([sys.executable, str(ROOT / "training"), "export", "--help"],
                         capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "this checkout's resources/weights" in " ".join(run.stdout.split())
    top = subprocess.run([sys.executable, str(ROOT / "training"), "--help"],
                         capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert "python /path/to/checkout/training" in top.stdout


def test_quick_start_output_is_ignored_by_git():
    run = subprocess.run(["git", "check-ignore", "-q", "overlays/050_HC_fetalview_overlay.png"],
                         cwd=ROOT)
    assert run.returncode == 0
