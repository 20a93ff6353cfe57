"""Where bundled files live, from a source checkout and from an installed wheel alike.

A wheel installs the top-level ``resources/`` folder as the package ``fetalview.resources``
(see pyproject.toml); a checkout has it beside the package; a PyInstaller bundle unpacks it
under ``sys._MEIPASS``.
"""

from __future__ import annotations

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


def app_icon() -> Path:
    """The application icon (drawn by packaging/make_icon.py)."""
    return resources_dir() / "icons" / "fetalview.png"
