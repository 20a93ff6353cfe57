"""A real Orthanc running fetalview's plugin (Debian ``orthanc`` and ``orthanc-python``) on
loopback, for the tests that need results measured on arrival: the plugin's own tests and the
app's, which opens what the plugin measured. Skips with the reason where the Python plugin is
not installed or runs another Python than the tests."""

from __future__ import annotations

import io
import json
import time
import urllib.request
from pathlib import Path

import pydicom
import pytest

from fetalview.orthanc.configuration import orthanc_config, python_plugin
from orthancserver import free_port, running_orthanc


def plugin_config(storage: Path) -> dict:
    plugin = python_plugin()
    if plugin is None:
        pytest.skip("Orthanc's Python plugin is not installed (Debian package 'orthanc-python'; "
                    ".ci/run installs it)")
    config = orthanc_config(storage / "db", plugin=plugin)
    return {key: config[key] for key in ("Plugins", "PythonScript", "Fetalview",
                                         "OverwriteInstances")} \
        | {"HttpServerEnabled": True, "HttpPort": free_port()}


class Node:
    """A running Orthanc with the plugin: its DICOM node, its REST API, its log."""

    def __init__(self, folder: Path, pacs, http_port: int):
        self.folder, self.pacs, self.url = folder, pacs, f"http://127.0.0.1:{http_port}"

    def get(self, path: str):
        with urllib.request.urlopen(self.url + path, timeout=10) as answer:
            data = answer.read()
        return data if path.endswith("/file") else json.loads(data)

    def find(self, **query) -> list[str]:
        request = urllib.request.Request(
            self.url + "/tools/find", json.dumps({"Level": "Instance", "Query": query}).encode())
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read())

    def dataset(self, instance: str) -> pydicom.Dataset:
        return pydicom.dcmread(io.BytesIO(self.get(f"/instances/{instance}/file")))

    def log(self) -> str:
        return (self.folder / "orthanc.log").read_text(errors="replace")

    def wait_for(self, what, timeout: float, message: str):
        deadline = time.monotonic() + timeout
        while not (found := what()):
            if time.monotonic() > deadline:
                pytest.fail(f"{message} within {timeout} s; Orthanc's log ends:\n"
                            + self.log()[-3000:])
            time.sleep(0.2)
        return found


def started(folder: Path, **section):
    """A context manager: Orthanc with the plugin on ``folder``, its model loaded; ``section``
    changes settings of the "Fetalview" section (a ``forward`` PacsNode adds ForwardTo)."""
    extra = plugin_config(folder)
    forward = section.pop("forward", None)
    extra["Fetalview"] |= section
    if forward is not None:
        extra["DicomModalities"] = {"pacs": [forward.ae_title, forward.host, forward.port]}
        extra["Fetalview"]["ForwardTo"] = "pacs"

    class _Started:
        def __enter__(self):
            # counted before the start: the model may be loaded by the time Orthanc answers
            log = folder / "orthanc.log"
            loads = log.read_text(errors="replace").count("fetalview: model ") \
                if log.exists() else 0
            self.context = running_orthanc(folder, extra)
            node = Node(folder, self.context.__enter__(), extra["HttpPort"])
            try:
                node.wait_for(lambda: node.log().count("fetalview: model ") > loads
                              or "fetalview: not started" in node.log(), 180,
                              "the plugin did not load the model")
                if "fetalview: not started: it is installed for Python" in node.log():
                    pytest.skip("Orthanc's Python plugin runs another Python than these tests: "
                                + node.log().split("fetalview: not started: ")[1].split("\n")[0])
                assert "fetalview: not started" not in node.log(), node.log()[-3000:]
            except BaseException:
                self.context.__exit__(None, None, None)
                raise
            return node

        def __exit__(self, *exc):
            return self.context.__exit__(*exc)
    return _Started()
