"""The app's command line, ``fetalview [SCAN|FOLDER...]``: its argument parser alone.

Both ``fetalview.cli`` (which parses it first, so that ``--help`` and bad options end before
Qt is imported) and ``fetalview.gui.app`` (which reads the paths to open) use it; it imports
nothing from fetalview but its version, so the GUI never needs the command line module.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from fetalview import __version__


def app_parser() -> argparse.ArgumentParser:
    """``fetalview [SCAN|FOLDER...]``; its help names the ``measure`` and ``orthanc-config``
    commands too."""
    p = argparse.ArgumentParser(
        prog="fetalview",
        usage="fetalview [SCAN|FOLDER ...]\n       fetalview measure PATH [PATH ...] [options]"
              "\n       fetalview orthanc-config [options]",
        description="Measure the fetal head (HC, BPD, OFD) in 2-D ultrasound scans.",
        epilog="commands:\n"
               "  fetalview [SCAN|FOLDER ...]   open the desktop app with these scans\n"
               "  fetalview measure PATH ...    measure scans without a window: CSV, overlays,\n"
               "                                reports, DICOM ('fetalview measure --help')\n"
               "  fetalview orthanc-config      print an Orthanc configuration that measures\n"
               "                                each ultrasound image as it arrives\n"
               "                                ('fetalview orthanc-config --help')",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_version(p)
    p.add_argument("paths", nargs="*", type=Path, metavar="SCAN|FOLDER",
                   help="scans or folders of scans to open")
    return p


def add_version(parser: argparse.ArgumentParser) -> None:
    """``--version``: which fetalview this is (what a bug report and a validation record
    name), printed before anything heavy is imported."""
    parser.add_argument("--version", action="version", version=f"fetalview {__version__}",
                        help="print fetalview's version and exit")
