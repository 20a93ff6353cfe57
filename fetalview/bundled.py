"""Where bundled files live, from a source checkout and from an installed wheel alike.

A wheel installs the top-level ``resources/`` folder as the package ``fetalview.resources``
(see pyproject.toml); a checkout has it beside the package; a PyInstaller bundle unpacks it
under ``sys._MEIPASS``.
"""

from __future__ import annotations

import os
import shutil
import sys
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def resources_dir() -> Path:
    here = Path(__file__).resolve().parent
    candidates = [here / "resources", here.parent / "resources"]
    if hasattr(sys, "_MEIPASS"):
        candidates.insert(0, Path(sys._MEIPASS) / "resources")
    for c in candidates:
        if (c / "weights").is_dir():
            return c
    raise FileNotFoundError("fetalview's bundled resources are missing; reinstall fetalview")


def default_weights() -> Path:
    return resources_dir() / "weights" / "resunet.safetensors"


def sample_scans_dir() -> Path:
    return resources_dir() / "samples"


#: A file the app saves beside a scan (``core.record.sidecar.SUFFIX``): never one of the
#: samples, even where an old build left one in the bundled folder.
_SAVED_BY_THE_APP = ".fetalview.json"


def copy_samples(folder: Path) -> Path:
    """The bundled samples copied into ``folder`` (made if missing), which is returned: the app
    opens them there, so what it saves for them (automatic results, a clinician's edits) goes
    into a folder of the user's and never into the installed package or a source checkout,
    where the next user would see it and a wheel would ship it. A copy already there is kept
    unless its bytes differ from the bundled file's (a newer version's sample); what was saved
    beside it stays, and the identity check sets aside a result that no longer fits."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for source in sorted(sample_scans_dir().iterdir()):
        if not source.is_file() or _SAVED_BY_THE_APP in source.name:
            continue
        target = folder / source.name
        if target.is_file() and target.read_bytes() == source.read_bytes():
            continue
        partial = target.with_name(target.name + ".copying")
        shutil.copyfile(source, partial)
        os.replace(partial, target)
    return folder


def app_icon() -> Path:
    """The application icon (drawn by packaging/make_icon.py)."""
    return resources_dir() / "icons" / "fetalview.png"
