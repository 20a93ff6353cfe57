"""The core stays Qt-free, so it runs headless (batch, training) and tests without a display."""

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[1] / "fetalview" / "core"


def _imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_core_never_imports_qt():
    offenders = {
        str(path.relative_to(CORE)): sorted(m for m in _imported_modules(path)
                                            if m.split(".")[0] in ("PySide6", "PyQt5", "PyQt6",
                                                                   "qimage2ndarray", "shiboken6"))
        for path in sorted(CORE.rglob("*.py"))
    }
    assert {k: v for k, v in offenders.items() if v} == {}
