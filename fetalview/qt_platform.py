"""Why the window cannot open on X11, said in words before Qt is started.

Qt's xcb platform plugin needs a dozen system libraries that a fresh Debian or Ubuntu lacks
(libxcb-cursor0 and libxcb-icccm4 among them); without them Qt aborts the process with a
message that names one library and points to debugging variables, and ``fetalview`` can say
nothing after. So ``cli.main`` asks ``missing_for_xcb`` first (``ldd`` on the plugin, which
lists every library the loader cannot find) and prints ``missing_message``: the libraries and
the Debian packages that hold them. Imports no Qt module, so it runs where QtGui itself would
fail to load.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

#: The library file names the xcb plugin needs that a fresh Debian may lack -> their packages.
DEBIAN_PACKAGES = {
    "libxcb-icccm.so.4": "libxcb-icccm4", "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1", "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-xinerama.so.0": "libxcb-xinerama0", "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0", "libxkbcommon.so.0": "libxkbcommon0",
    "libxcb-cursor.so.0": "libxcb-cursor0", "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-randr.so.0": "libxcb-randr0", "libEGL.so.1": "libegl1", "libGL.so.1": "libgl1",
    "libfontconfig.so.1": "libfontconfig1", "libdbus-1.so.3": "libdbus-1-3",
}


def uses_xcb(environ=os.environ) -> bool:
    """Whether Qt will start on X11: asked for, or the default on Linux outside Wayland."""
    wanted = environ.get("QT_QPA_PLATFORM", "")
    if wanted:
        return wanted.split(";")[0].split(":")[0] == "xcb"
    return sys.platform.startswith("linux") and not environ.get("WAYLAND_DISPLAY")


def xcb_plugin() -> Path | None:
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    plugin = Path(list(spec.submodule_search_locations)[0]) / "Qt/plugins/platforms/libqxcb.so"
    return plugin if plugin.is_file() else None


def not_found(ldd_output: str) -> list[str]:
    """The libraries ``ldd`` reports as "not found", in its order, each once."""
    names = [line.split("=>")[0].strip() for line in ldd_output.splitlines()
             if "=> not found" in line]
    return list(dict.fromkeys(names))


def missing_for_xcb() -> list[str]:
    """The libraries the xcb plugin cannot load ([] where it can, or where that cannot be
    told: no ``ldd``, no plugin; Qt then speaks for itself)."""
    plugin, ldd = xcb_plugin(), shutil.which("ldd")
    if plugin is None or ldd is None:
        return []
    try:
        run = subprocess.run([ldd, str(plugin)], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return []
    return not_found(run.stdout)


def missing_message(missing: list[str]) -> str:
    """What to tell someone whose system lacks ``missing`` (library file names)."""
    packages = sorted({DEBIAN_PACKAGES[name] for name in missing if name in DEBIAN_PACKAGES})
    unknown = [name for name in missing if name not in DEBIAN_PACKAGES]
    lines = ["fetalview cannot open its window: Qt's X11 (xcb) display support needs system "
             "libraries that are not installed here:", "  " + ", ".join(missing), ""]
    if packages:
        lines += ["On Debian or Ubuntu, install them with:",
                  "  sudo apt-get install " + " ".join(packages)]
    if unknown:
        lines += [f"Find the package that provides {', '.join(unknown)} for your system."]
    lines += ["(The README lists every package the window needs. Measuring without a window "
              "works without them: fetalview measure --help.)"]
    return "\n".join(lines)
