"""The Orthanc configuration that runs fetalview, and the settings its "Fetalview" section holds.

``fetalview orthanc-config`` prints a complete configuration for the Python environment it runs
in: Orthanc's Python plugin cannot know where fetalview, numpy and OpenVINO are installed, so
the section names those folders and the plugin script adds them to its path before importing
any of them. Everything the department may change is a setting of that section, read here,
each checked with a message in words (a typo must not silently measure nothing).
"""

from __future__ import annotations

import site
import sys
from dataclasses import dataclass
from pathlib import Path

import fetalview
from fetalview.orthanc.arrival import MEASURED_CLASSES

SECTION = "Fetalview"
#: Where Debian's orthanc-python puts the plugin, and where other builds do.
PYTHON_PLUGINS = (Path("/usr/share/orthanc/plugins/libOrthancPython.so"),
                  Path("/usr/lib/orthanc/libOrthancPython.so"),
                  Path("/usr/local/share/orthanc/plugins/libOrthancPython.so"))
#: Orthanc's name for the DicomModalities entry that ``--forward`` adds.
FORWARD_NAME = "fetalview-forward"
DEVICES = ("cpu", "cuda", "auto")


class SettingError(ValueError):
    """A setting of the "Fetalview" section that cannot be used, in words."""


@dataclass(frozen=True)
class Settings:
    """The "Fetalview" section: where the model runs, which SOP classes are measured, whether
    the annotated image is stored with the SR, and a DicomModalities entry to which the
    results are also sent."""
    device: str = "cpu"
    classes: tuple[str, ...] = MEASURED_CLASSES
    annotated_image: bool = True
    forward_to: str = ""

    @classmethod
    def of(cls, config: dict) -> Settings:
        """From Orthanc's whole configuration (``orthanc.GetConfiguration()``)."""
        section = config.get(SECTION) or {}
        device = section.get("Device", "cpu")
        if device not in DEVICES:
            raise SettingError(f'{SECTION}.Device is "{device}": one of {", ".join(DEVICES)}')
        classes = section.get("SopClasses", list(MEASURED_CLASSES))
        if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
            raise SettingError(f"{SECTION}.SopClasses is a list of SOP Class UIDs")
        annotated = section.get("StoreAnnotatedImage", True)
        if not isinstance(annotated, bool):
            raise SettingError(f"{SECTION}.StoreAnnotatedImage is true or false")
        forward = section.get("ForwardTo") or ""
        if forward and forward not in (config.get("DicomModalities") or {}):
            raise SettingError(f'{SECTION}.ForwardTo is "{forward}", which is not an entry of '
                               "DicomModalities")
        return cls(device, tuple(classes), annotated, forward)


def python_plugin() -> Path | None:
    """Orthanc's Python plugin (Debian package orthanc-python), None when not installed."""
    return next((p for p in PYTHON_PLUGINS if p.is_file()), None)


def environment_paths() -> list[str]:
    """The folders the plugin adds to Orthanc's Python: the one holding this fetalview (an
    editable or source checkout included), then this environment's site-packages."""
    source = str(Path(fetalview.__file__).resolve().parents[1])
    packages = [p for p in site.getsitepackages() if Path(p).is_dir()]
    return list(dict.fromkeys([source, *packages]))


def orthanc_config(storage: Path, dicom_port: int = 4242, http_port: int = 8042,
                   aet: str = "FETALVIEW", plugin: Path | None = None,
                   forward: tuple[str, str, int] | None = None) -> dict:
    """A complete Orthanc configuration: a DICOM node ``aet`` on ``dicom_port`` storing in
    ``storage``, its REST API on ``http_port`` for this computer only, and the plugin that
    measures what arrives; ``forward`` (AET, host, port) also sends each result on."""
    config = {
        "Name": "fetalview", "StorageDirectory": str(storage), "IndexDirectory": str(storage),
        "DicomAet": aet, "DicomPort": dicom_port, "HttpPort": http_port,
        # the REST API can delete studies: reachable from this computer only, as shipped
        "RemoteAccessAllowed": False,
        # exactly once: a result measured again after a crash has the same UIDs and is kept once
        "OverwriteInstances": False,
        "Plugins": [str(plugin or python_plugin() or PYTHON_PLUGINS[0])],
        "PythonScript": str(Path(__file__).with_name("plugin.py")),
        "DicomModalities": {},
        SECTION: {
            "PythonVersion": f"{sys.version_info.major}.{sys.version_info.minor}",
            "Paths": environment_paths(), "Device": "cpu",
            "SopClasses": list(MEASURED_CLASSES), "StoreAnnotatedImage": True, "ForwardTo": "",
        },
    }
    if forward is not None:
        config["DicomModalities"][FORWARD_NAME] = list(forward)
        config[SECTION]["ForwardTo"] = FORWARD_NAME
    return config
