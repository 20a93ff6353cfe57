"""Replaces OpenCV's video and AV1 codec libraries in the bundle with stubs that stop the app.

The opencv-python-headless wheels link FFmpeg (libavcodec, libavformat, libavutil, libswscale)
for ``cv2.VideoCapture``/``cv2.VideoWriter``, with VP8/9, OpenSSL 1.1 and libdrm behind it, and
libaom (AV1) behind libavif for AVIF images: about 40 MB that fetalview never runs (it calls
OpenCV's image processing, drawing and ``cv2.imencode`` to PNG/JPEG only, and reads scans with
Pillow and pydicom; no wheel on PyPI is built without them). The libraries cannot simply go:
Python loads ``cv2.abi3.so`` with every symbol bound at once (RTLD_NOW), so each function it
names must exist. Each is therefore replaced by a small library of the same name and symbol
versions that defines the functions cv2 and the remaining libraries call in it, every one of
which writes "fetalview: this build has no video or AV1 codecs" to stderr and stops the
process (``ud2``): a video or AVIF call in some future fetalview fails at once and visibly in
the bundle, never silently. The libraries only they linked are then left out. libavif itself
stays (small): OpenCV's image codecs create its encoder and decoder, which call nothing in
libaom, whenever ``imencode`` first runs, and ``imread`` asks it whether a file is AVIF.

Usage: ``python packaging/stub_codecs.py dist/fetalview/_internal``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from elflib import link_library, needed, readelf, soname

#: The libraries replaced: FFmpeg (video I/O) and libaom (AV1, which libavif links).
STUBBED = ("libavcodec", "libavformat", "libavutil", "libswscale", "libaom")
MESSAGE = "fetalview: this build has no video or AV1 codecs (packaging/stub_codecs.py)\\n"


def exported(library: Path) -> dict[str, str]:
    """The functions ``library`` defines, with their symbol version ("" for none)."""
    return {name: version for name, version in re.findall(
        r"\sFUNC\s+\S+\s+\S+\s+\d+\s+([^@\s]+)(?:@@?(\S+))?$", readelf("--dyn-syms", library),
        re.M)}


def imported(library: Path) -> set[str]:
    """The functions ``library`` needs from other libraries."""
    return set(re.findall(r"\sFUNC\s+\S+\s+\S+\s+UND\s+([^@\s]+)", readelf("--dyn-syms", library)))


def stub(library: Path, wanted: set[str]) -> int:
    """Writes over ``library`` a stub of its functions in ``wanted``, with their versions."""
    functions = {name: version for name, version in exported(library).items() if name in wanted}
    assembly = [f'.section .rodata\nmessage: .ascii "{MESSAGE}"\nmessage_end:\n.text\n'
                "stop:\n mov $1, %eax\n mov $2, %edi\n lea message(%rip), %rsi\n"
                " mov $(message_end - message), %edx\n syscall\n ud2\n"]
    assembly += [f".globl {name}\n.type {name}, @function\n{name}: jmp stop\n"
                 for name in sorted(functions)]
    versions = sorted(set(functions.values()))
    if "" in versions and len(versions) > 1:
        raise SystemExit(f"{library}: functions with and without versions")
    script = "".join(
        f"{version} {{ global: {'; '.join(sorted(n for n, v in functions.items() if v == version))}; "
        f"{'local: *; ' if version == versions[-1] else ''}}};\n"
        for version in versions if version)
    link_library(library, soname(library), "".join(assembly), version_script=script or None)
    return len(functions)


def unneeded(folder: Path, internal: Path) -> list[Path]:
    """Libraries in ``folder`` that no library or extension in the bundle links any more."""
    links = {name for path in internal.rglob("*.so*") if path.is_file() and not path.is_symlink()
             for name in needed(path)}
    return [p for p in folder.iterdir() if soname(p) not in links and p.name not in links]


def main(internal: Path) -> None:
    libs = internal / "opencv_python_headless.libs"
    stubbed = [p for p in sorted(libs.iterdir()) if p.name.startswith(tuple(f"{name}-" for name in STUBBED))]
    # What cv2 and the libraries that stay call in the stubbed ones.
    wanted = set().union(*(imported(p) for p in [internal / "cv2" / "cv2.abi3.so", *libs.iterdir()]
                           if p not in stubbed))
    before = sum(p.stat().st_size for p in libs.iterdir())
    for library in stubbed:
        print(f"{library.name}: stub of {stub(library, wanted)} functions")
    while gone := unneeded(libs, internal):
        for library in gone:
            print(f"{library.name}: left out (only the stubbed libraries linked it)")
            library.unlink()
    for link in internal.iterdir():  # PyInstaller's links to the libraries left out
        if link.is_symlink() and not link.exists():
            link.unlink()
    after = sum(p.stat().st_size for p in libs.iterdir())
    print(f"OpenCV's libraries: {before / 2**20:.1f} MB -> {after / 2**20:.1f} MB")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
