#!/usr/bin/env bash
# Builds the standalone one-folder app into dist/fetalview/ (run from anywhere).
# Needs the project installed with the "package" extra: pip install -e ".[package]"
# (with the CPU build of torch installed first, as for development).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
python3 -m PyInstaller --noconfirm --clean \
    --distpath "$root/dist" --workpath "$root/build/pyinstaller" \
    packaging/fetalview.spec
echo "built $root/dist/fetalview ($(du -sh "$root/dist/fetalview" | cut -f1))"
