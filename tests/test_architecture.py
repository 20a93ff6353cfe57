"""The architecture, checked on the source tree of this checkout (not an installed fetalview).

- The import contracts in pyproject.toml (``[tool.importlinter]``), run by import-linter: the
  layers (cli > gui > report | orthanc > charts > core.batch > core.pacs > core.results >
  core.record > core.model > core.io > core.measure > bundled), the Qt-free core and training (so they run
  headless: batch, training, tests without a display), and an app that never imports training.
- No import cycle between any two modules of fetalview.
- No dead code that pyflakes can see (unused imports and names).
- Small rooms: no folder of fetalview holds more than ``MAX_MODULES`` modules and no module is
  longer than ``MAX_LINES`` lines.

The import graph is built in a child Python with this checkout first on its path, so the
checks see these files whatever fetalview the test process itself imported. Lazy imports
(inside functions) and ``TYPE_CHECKING`` imports count like any other.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "fetalview"
MAX_MODULES = 15  # .py files in one folder, __init__.py not counted
MAX_LINES = 500


def _python(code: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a child Python in the checkout's root with the checkout on its path,
    after checking that fetalview is imported from this checkout."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])}
    guard = ("import importlib.util, pathlib, sys\n"
             "origin = pathlib.Path(importlib.util.find_spec('fetalview').origin).resolve()\n"
             f"if pathlib.Path({str(PACKAGE)!r}) not in origin.parents:\n"
             "    sys.exit(f'fetalview is found at {origin}, not in the checkout under test')\n")
    return subprocess.run([sys.executable, "-c", guard + code], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_import_contracts():
    """Every contract of pyproject.toml is kept; a broken one fails with import-linter's text
    (the contract, and each import that breaks it, with its line)."""
    run = _python("from importlinter.cli import lint_imports\n"
                  "sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True,"
                  " no_logo=True))\n")
    report = run.stdout + run.stderr
    broken = report[report.find("Broken contracts"):] if "Broken contracts" in report \
        else report
    if run.returncode != 0:
        pytest.fail(f"import-linter: contracts broken\n\n{broken}", pytrace=False)


def _import_graph() -> dict[str, list[tuple[str, list[int]]]]:
    """Each module of fetalview -> the fetalview modules it imports, with the lines."""
    run = _python(
        "import json, grimp\n"
        "graph = grimp.build_graph('fetalview', cache_dir=None)\n"
        "print(json.dumps({m: [(i, sorted(d['line_number'] for d in"
        " graph.get_import_details(importer=m, imported=i)))"
        " for i in sorted(graph.find_modules_directly_imported_by(m))]"
        " for m in sorted(graph.modules)}))\n")
    if run.returncode != 0:
        pytest.fail(run.stdout + run.stderr, pytrace=False)
    return {m: [(i, lines) for i, lines in edges] for m, edges in json.loads(run.stdout).items()}


def _strongly_connected(graph: dict[str, list]) -> list[list[str]]:
    """Tarjan's strongly connected components of ``graph`` (module -> [(imported, lines)])."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported, _ in graph.get(module, ()):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            found.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return sorted(found)


def test_no_import_cycles():
    """No two modules of fetalview import each other, directly or through others: a cycle
    ties modules into one that can be neither understood nor tested apart."""
    graph = _import_graph()
    cycles = [c for c in _strongly_connected(graph) if len(c) > 1]
    text = []
    for cycle in cycles:
        text.append("cycle: " + ", ".join(cycle))
        text += [f"  {m} -> {i} (l.{', '.join(map(str, lines))})"
                 for m in cycle for i, lines in graph[m] if i in cycle]
    if cycles:
        pytest.fail("import cycles in fetalview:\n" + "\n".join(text), pytrace=False)


def test_no_folder_too_full_and_no_module_too_long():
    """A folder of more than ``MAX_MODULES`` modules wants sub-packages by subject; a module
    of more than ``MAX_LINES`` lines wants splitting by subject."""
    full = {str(folder.relative_to(ROOT)): n for folder in [PACKAGE, *PACKAGE.rglob("*")]
            if folder.is_dir() and "__pycache__" not in folder.parts
            and (n := sum(1 for p in folder.glob("*.py") if p.name != "__init__.py"))
            > MAX_MODULES}
    with_lines = ((p, len(p.read_text(encoding="utf-8").splitlines()))
                  for p in PACKAGE.rglob("*.py"))
    long = {str(p.relative_to(ROOT)): n for p, n in sorted(with_lines) if n > MAX_LINES}
    if full or long:
        pytest.fail("\n".join([f"{folder}: {n} modules (at most {MAX_MODULES})"
                               for folder, n in full.items()]
                              + [f"{module}: {n} lines (at most {MAX_LINES})"
                                 for module, n in long.items()]), pytrace=False)


def test_no_unused_imports_or_names():
    """No dead code: pyflakes finds no unused import or variable, no undefined name, in the
    package, the training module, the benchmarks or the tests."""
    from pyflakes.api import checkRecursive
    from pyflakes.reporter import Reporter
    import io
    out = io.StringIO()
    found = checkRecursive([str(ROOT / d) for d in ("fetalview", "training", "benchmarks",
                                                    "tests")], Reporter(out, out))
    assert found == 0, out.getvalue()


def test_every_package_folder_is_shipped():
    """A wheel holds only the packages pyproject.toml lists: a new folder left out of the list
    works from a checkout and fails in every installed copy (gui/signoff once did)."""
    import tomllib
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
                 ["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in PACKAGE.rglob("__init__.py")}
    assert found - listed == set(), "package folders missing from [tool.setuptools] packages"
