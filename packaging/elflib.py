"""Reading and writing the bundle's shared libraries with binutils (readelf, as, ld), which
build.sh needs already; used by trim_icu.py and stub_codecs.py."""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path


def readelf(*args: str | Path) -> str:
    return subprocess.run(["readelf", "-W", *map(str, args)], check=True, capture_output=True,
                          text=True).stdout


def soname(library: Path) -> str:
    found = re.search(r"\(SONAME\)\s+Library soname: \[(.+)\]", readelf("-d", library))
    return found[1] if found else library.name


def needed(library: Path) -> list[str]:
    """The sonames ``library`` links (its NEEDED entries)."""
    return re.findall(r"\(NEEDED\)\s+Shared library: \[(.+)\]", readelf("-d", library))


def link_library(library: Path, name: str, assembly: str, version_script: str | None = None,
                 data: bytes = b"") -> None:
    """Assembles ``assembly`` into a shared library with soname ``name``, written over
    ``library``; ``data`` is there as the file data.bin for an ``.incbin``."""
    with tempfile.TemporaryDirectory(dir=library.parent) as tmp:
        tmp = Path(tmp)
        (tmp / "data.bin").write_bytes(data)
        (tmp / "lib.s").write_text(assembly.replace("DATA_BIN", str(tmp / "data.bin"))
                                   + '.section .note.GNU-stack,"",@progbits\n')
        subprocess.run(["as", "-o", str(tmp / "lib.o"), str(tmp / "lib.s")], check=True)
        options = ["--version-script", str(tmp / "versions")] if version_script else []
        if version_script:
            (tmp / "versions").write_text(version_script)
        subprocess.run(["ld", "-shared", "-soname", name, *options, "-o", str(tmp / "lib.so"),
                        str(tmp / "lib.o")], check=True)
        (tmp / "lib.so").replace(library)
