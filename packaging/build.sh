#!/usr/bin/env bash
# Builds the standalone one-folder app into dist/fetalview/ (run from anywhere).
# Needs the project installed with the "package" extra: pip install -e ".[package]" (no torch:
# the bundle leaves it out even where it is installed; only the slow test that checks the
# bundle needs torch, with the "test" extra, see packaging/README.md), and binutils (readelf,
# strip, as, ld).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
python3 -m PyInstaller --noconfirm --clean \
    --distpath "$root/dist" --workpath "$root/build/pyinstaller" \
    packaging/fetalview.spec
# Qt's ICU data without what Qt never asks ICU for (32 MB -> 17 MB; see trim_icu.py).
for icudata in "$root"/dist/fetalview/_internal/PySide6/Qt/lib/libicudata.so.*; do
    python3 "$root/packaging/trim_icu.py" "$icudata"
done
# OpenCV's FFmpeg and AV1 libraries replaced by stubs that stop the app with a message if ever
# called, and the libraries only they linked left out (40 MB; see stub_codecs.py).
python3 "$root/packaging/stub_codecs.py" "$root/dist/fetalview/_internal"
# Debugging sections (about 42 MB, 16 of them libpython's) out of the libraries that carry them.
# Left as they are: the libraries auditwheel vendored into a wheel's NAME.libs/ folder (patchelf
# rewrote them, and stripping such files has broken them; they hold about 3 MB of it) and the
# fetalview executable (its Python archive is appended to it). --strip-debug keeps the symbol
# tables that libraries link by.
find "$root/dist/fetalview/_internal" -type f -name '*.so*' ! -path '*.libs/*' -print0 |
    while IFS= read -r -d '' lib; do
        # grep reads all of readelf's output (grep -q's early exit would fail it under pipefail)
        if readelf -S "$lib" 2>/dev/null | grep ' \.debug_' >/dev/null; then strip --strip-debug "$lib"; fi
    done
echo "built $root/dist/fetalview ($(du -sh "$root/dist/fetalview" | cut -f1))"
