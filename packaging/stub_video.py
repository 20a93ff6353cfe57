"""Replaces OpenCV's video libraries (FFmpeg) in the bundle with stubs that stop the app loudly.

The opencv-python-headless wheels link FFmpeg (libavcodec, libavformat, libavutil, libswscale)
for ``cv2.VideoCapture``/``cv2.VideoWriter``, and through it VP8/9, OpenSSL 1.1 and libdrm:
about 32 MB that fetalview never runs (it calls OpenCV's image processing, drawing and
``cv2.imencode`` only; no wheel on PyPI is built without video I/O). The libraries cannot
simply go: Python loads ``cv2.abi3.so`` with every symbol bound at once (RTLD_NOW), so each
function it names must exist. Each FFmpeg library is therefore replaced by a small one of the
same name and symbol versions whose functions, every one of those cv2 imports from it, write
"fetalview: this build has no video I/O" to stderr and stop the process (``ud2``): a video
call in some future fetalview fails at once and visibly in the bundle, never silently. The
libraries that only FFmpeg needed are then left out. AVIF (libavif, libaom) stays: OpenCV's
image codecs create its decoder whenever ``imencode`` first runs.

Usage: ``python packaging/stub_video.py dist/fetalview/_internal``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from elflib import link_library, needed, readelf, soname

FFMPEG = ("libavcodec", "libavformat", "libavutil", "libswscale")
MESSAGE = "fetalview: this build has no video I/O (packaging/stub_video.py)\\n"


def imported(library: Path) -> dict[str, set[str]]:
    """The versioned functions ``library`` imports, by symbol version."""
    found: dict[str, set[str]] = {}
    for name, version in re.findall(r"\sFUNC\s+\S+\s+\S+\s+UND\s+([^@\s]+)@(\S+)",
                                    readelf("--dyn-syms", library)):
        found.setdefault(version, set()).add(name)
    return found


def stub(library: Path, functions: dict[str, set[str]]) -> int:
    """Writes the stub over ``library`` with the functions of its symbol version(s)."""
    versions = [v for v in re.findall(r"Flags: none\s+Index: \d+\s+Cnt: \d+\s+Name: (\S+)",
                                      readelf("-V", library)) if v in functions]
    names = sorted({name for version in versions for name in functions[version]})
    assembly = [f'.section .rodata\nmessage: .ascii "{MESSAGE}"\nmessage_end:\n.text\n'
                "stop:\n mov $1, %eax\n mov $2, %edi\n lea message(%rip), %rsi\n"
                " mov $(message_end - message), %edx\n syscall\n ud2\n"]
    assembly += [f".globl {name}\n.type {name}, @function\n{name}: jmp stop\n" for name in names]
    script = "".join(f"{version} {{ global: {'; '.join(sorted(functions[version]))}; "
                     f"{'local: *; ' if i == len(versions) - 1 else ''}}};\n"
                     for i, version in enumerate(versions))
    link_library(library, soname(library), "".join(assembly), version_script=script)
    return len(names)


def unneeded(folder: Path, internal: Path) -> list[Path]:
    """Libraries in ``folder`` that no library or extension in the bundle links any more."""
    links = {name for path in internal.rglob("*.so*") if path.is_file() and not path.is_symlink()
             for name in needed(path)}
    return [p for p in folder.iterdir() if soname(p) not in links and p.name not in links]


def main(internal: Path) -> None:
    cv2 = internal / "cv2" / "cv2.abi3.so"
    libs = internal / "opencv_python_headless.libs"
    functions = imported(cv2)
    before = sum(p.stat().st_size for p in libs.iterdir())
    for library in sorted(libs.iterdir()):
        if library.name.startswith(tuple(f"{name}-" for name in FFMPEG)):
            print(f"{library.name}: stub of {stub(library, functions)} functions")
    while gone := unneeded(libs, internal):
        for library in gone:
            print(f"{library.name}: left out (only FFmpeg linked it)")
            library.unlink()
    for link in internal.iterdir():  # PyInstaller's links to the libraries left out
        if link.is_symlink() and not link.exists():
            link.unlink()
    after = sum(p.stat().st_size for p in libs.iterdir())
    print(f"OpenCV's libraries: {before / 2**20:.1f} MB -> {after / 2**20:.1f} MB")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
