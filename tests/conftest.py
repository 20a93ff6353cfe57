"""Fixtures for every test, and the guard that the suite leaves the checkout as it found it."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "resources" / "samples"
#: Folders the suite may write anywhere under the checkout: Python's and pytest's caches.
CACHES = {"__pycache__", ".pytest_cache", ".hypothesis", ".git"}
#: Top-level folders it may write: packaging/build.sh's work and its bundle (the slow test).
BUILD_OUTPUTS = {"build", "dist"}


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", help="run tests marked slow")
    parser.addoption("--device", default="cpu", choices=["cpu", "cuda", "auto"],
                     help="device for the shared segmenter fixture (run once with cuda on a GPU)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def segmenter(request):
    from fetalview.core.model.segmenter import Segmenter
    return Segmenter(device=request.config.getoption("--device"))


@pytest.fixture
def samples_dir():
    return SAMPLES


def _files(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``root`` (caches and build outputs left out) with its size and
    modification time."""
    files = {}
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d not in CACHES
                   and not (Path(folder) == root and d in BUILD_OUTPUTS)]
        for name in names:
            path = Path(folder, name)
            try:
                stat = path.lstat()
            except FileNotFoundError:
                continue
            files[str(path.relative_to(root))] = (stat.st_size, stat.st_mtime_ns)
    return files


@pytest.fixture(scope="session", autouse=True)
def checkout_left_as_found():
    """Fails the run when a test wrote, changed or removed a file of the checkout: a result
    saved beside a bundled sample scan (with the tests' fake model) was shown by the real app
    afterwards, and a wheel built from the checkout shipped it."""
    before = _files(ROOT)
    yield
    after = _files(ROOT)
    changed = sorted(name for name in before.keys() | after.keys()
                     if before.get(name) != after.get(name))
    assert not changed, f"the tests changed files in the checkout {ROOT}: {changed[:20]}"


@pytest.fixture
def paris(monkeypatch):
    """This computer's local time is Central European (a POSIX rule: no zone database
    needed), so a test can say what a time in local time with its zone reads."""
    import time
    monkeypatch.setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()
