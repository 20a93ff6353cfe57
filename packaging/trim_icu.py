"""Rewrites the bundle's ICU data library without the parts of ICU that Qt never uses.

Qt Core (``libQt6Core``, which links ICU) calls ICU for four services only, as the ICU symbols
it imports show (``readelf --dyn-syms -W libQt6Core.so.6 | grep UND | grep _73``): case
mapping for a locale (``u_strToUpper``/``u_strToLower``), collation (``ucol_*``: QCollator,
the file dialog's sorting), character-set converters (``ucnv_*``: QStringConverter for
legacy encodings) and time zones (``ucal_*``: names for QTimeZone). Those read ICU's core
tables, the locale, collation, converter, zone and region data. They never read the break
iterator dictionaries (Qt breaks text itself), the display names of units, currencies and
languages, the transliterators, the spell-out rules, the names of Unicode characters, the
StringPrep profiles or the spoof checker's tables: about 15 of the data's 32 MB, taken out
here. Nothing else in the bundle loads ICU.

ICU's data is one "common data" package (a table of contents, then the items) exported as
the symbol ``icudtNN_dat`` by ``libicudataNN``; the package is written anew without those
items and assembled into a library of the same name with binutils (``as``, ``ld``), which
``build.sh`` uses already. tests/test_packaging.py checks that Qt gives the same collation,
case mapping, time zone names and converters with the trimmed library as with the original.

Usage: ``python packaging/trim_icu.py PATH/libicudata.so.NN`` (rewritten in place).
"""

from __future__ import annotations

import re
import struct
import sys
from pathlib import Path

from elflib import link_library, readelf, soname

#: Trees (folders of the package) and items that none of the four services reads.
UNUSED_TREES = ("brkitr", "curr", "lang", "rbnf", "translit", "unit")
UNUSED_SUFFIXES = (".spp", ".cfu")  # StringPrep profiles, the spoof checker's confusables
UNUSED_ITEMS = ("unames.icu",)  # names of Unicode characters
ALIGN = 16  # ICU aligns each item of a package to 16 bytes


def unused(name: str) -> bool:
    """True for an item that Qt's ICU services never read (name as "icudt73l/coll/de.res")."""
    parts = name.split("/")
    return (len(parts) > 2 and parts[1] in UNUSED_TREES) or parts[-1] in UNUSED_ITEMS \
        or parts[-1].endswith(UNUSED_SUFFIXES)


def read_package(library: Path) -> tuple[str, bytes]:
    """The data symbol's name and bytes in an ICU data library."""
    found = re.search(r"([0-9a-f]+)\s+(0x[0-9a-f]+|\d+)\s+OBJECT\s+GLOBAL\s+\S+\s+\d+\s+"
                      r"(icudt\d+_dat)$", readelf("-s", library), re.M)
    if not found:
        raise SystemExit(f"{library}: no icudtNN_dat symbol")
    address, size, symbol = int(found[1], 16), int(found[2], 0), found[3]
    for line in readelf("-S", library).splitlines():
        fields = re.match(r"\s*\[\s*\d+\]\s+\S+\s+\S+\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)",
                          line)
        if fields:
            start, offset, length = (int(f, 16) for f in fields.groups())
            if start <= address and address + size <= start + length and start:
                at = offset + address - start
                return symbol, library.read_bytes()[at:at + size]
    raise SystemExit(f"{library}: {symbol} is in no section")


def items(package: bytes) -> tuple[bytes, list[tuple[str, bytes]]]:
    """The package's header and its items in table-of-contents order (sorted by name)."""
    header_size = struct.unpack_from("<H", package, 0)[0]
    toc = package[header_size:]
    count = struct.unpack_from("<I", toc, 0)[0]
    entries = [struct.unpack_from("<II", toc, 4 + 8 * i) for i in range(count)]
    found = []
    for i, (name_at, data_at) in enumerate(entries):
        end = entries[i + 1][1] if i + 1 < count else len(toc)
        name = toc[name_at:toc.index(b"\0", name_at)].decode("ascii")
        found.append((name, toc[data_at:end]))
    return package[:header_size], found


def package_of(header: bytes, kept: list[tuple[str, bytes]]) -> bytes:
    """A common data package of ``kept`` items (the header is copied: it names the format)."""
    names = b"".join(name.encode("ascii") + b"\0" for name, _ in kept)
    name_at = 4 + 8 * len(kept)
    data_at = -(-(name_at + len(names)) // ALIGN) * ALIGN
    toc, body = [struct.pack("<I", len(kept))], []
    for name, data in kept:
        toc.append(struct.pack("<II", name_at, data_at))
        name_at += len(name) + 1
        data = data + b"\0" * (-len(data) % ALIGN)
        body.append(data)
        data_at += len(data)
    table = b"".join(toc) + names
    return header + table + b"\0" * (-len(table) % ALIGN) + b"".join(body)


def main(library: Path) -> None:
    symbol, package = read_package(library)
    header, found = items(package)
    kept = [(name, data) for name, data in found if not unused(name)]
    link_library(library, soname(library), f".section .rodata\n.globl {symbol}\n"
                 f".type {symbol}, @object\n.balign {ALIGN}\n{symbol}:\n.incbin \"DATA_BIN\"\n"
                 f".size {symbol}, . - {symbol}\n", data=package_of(header, kept))
    print(f"{library.name}: {len(kept)} of {len(found)} ICU data items kept, "
          f"{len(package) / 2**20:.1f} MB -> {library.stat().st_size / 2**20:.1f} MB")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
