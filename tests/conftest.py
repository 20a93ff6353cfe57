import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

SAMPLES = Path(__file__).resolve().parents[1] / "resources" / "samples"


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
