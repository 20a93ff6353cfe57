"""A real PACS for the tests: Orthanc on a free loopback port, temporary configuration and
storage, stopped afterwards. Share one per test module (it starts in about a second)."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from fetalview.core.pacs.client import DEFAULT_CALLING_AET, PacsError, PacsNode, echo

# Debian installs it in /usr/sbin, which is not on an ordinary user's PATH
ORTHANC = shutil.which("Orthanc") or shutil.which("Orthanc", path="/usr/sbin")
AE_TITLE = "ORTHANC"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_orthanc(folder: Path, extra: dict | None = None):
    """Start Orthanc with its storage in ``folder`` (and ``extra`` configuration, e.g. a
    plugin); yields its PacsNode. Its log is ``folder/orthanc.log``, kept across restarts."""
    if ORTHANC is None:
        pytest.skip("Orthanc is not installed (Debian package 'orthanc'; .ci/run installs it)")
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = {
        "Name": "fetalview-tests", "StorageDirectory": str(folder / "db"),
        "IndexDirectory": str(folder / "db"), "DicomAet": AE_TITLE, "DicomPort": port,
        "DicomCheckCalledAet": True, "HttpServerEnabled": False, "Plugins": [],
        "DicomModalities": {"fetalview": [DEFAULT_CALLING_AET, "127.0.0.1", 104]},
        "DicomAlwaysAllowEcho": True, "DicomAlwaysAllowStore": True,
        "DicomAlwaysAllowFind": True, "DicomAlwaysAllowGet": True,
        "StorageCompression": False,
        **(extra or {}),
    }
    (folder / "orthanc.json").write_text(json.dumps(config))
    log = open(folder / "orthanc.log", "ab")
    proc = subprocess.Popen([ORTHANC, str(folder / "orthanc.json")], stdout=log,
                            stderr=subprocess.STDOUT)
    node = PacsNode(AE_TITLE, "127.0.0.1", port)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                echo(node, timeout=2)
                break
            except PacsError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("Orthanc did not start:\n"
                                       + (folder / "orthanc.log").read_text(errors="replace"))
                time.sleep(0.1)
        yield node
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
