"""The script Orthanc's Python plugin runs (``"PythonScript"`` of ``fetalview orthanc-config``):
the one place that touches Orthanc's ``orthanc`` module.

It runs inside Orthanc's own Python, which knows nothing of the environment fetalview is
installed in: the "Fetalview" section names its folders, added to the path before fetalview,
numpy or OpenVINO is imported. Only a change callback is registered, and it only wakes the
worker: Orthanc calls it from its change thread, never on the path of a C-STORE or C-ECHO, so
neither waits for the model (nor for Python's lock while the model runs).
"""

import json
import site
import sys

import orthanc

#: The global property (plugins own those from 1024) holding the last change handled.
PROGRESS_PROPERTY = 4402


def _environment(section: dict) -> bool:
    """Puts fetalview's environment on the path; False (and the log says why) when this
    Python cannot use it."""
    wanted = section.get("PythonVersion")
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    if wanted and wanted != running:
        orthanc.LogError(f"fetalview: not started: it is installed for Python {wanted}, and "
                         f"Orthanc's Python plugin runs Python {running}; install fetalview "
                         f"with Python {running} and run fetalview orthanc-config again")
        return False
    here = globals().get("__file__")
    if here:  # Orthanc puts the script's folder first: its modules would shadow others
        folder = here.rsplit("/", 1)[0]
        sys.path[:] = [p for p in sys.path if p.rstrip("/") != folder.rstrip("/")]
    paths = section.get("Paths") or []
    for path in paths[1:]:
        site.addsitedir(path)  # also runs their .pth files (an editable install's among them)
    if paths:
        sys.path.insert(0, paths[0])
    return True


class OrthancArchive:
    """``catchup.Archive`` answered by Orthanc's REST API, from inside Orthanc."""

    def __init__(self, forward_to: str):
        self.forward_to = forward_to

    def changes(self, since, limit):
        from fetalview.orthanc.catchup import Change
        log = json.loads(orthanc.RestApiGet(f"/changes?since={since}&limit={limit}"))
        return ([Change(c["Seq"], c["ChangeType"], c["ID"]) for c in log["Changes"]],
                log["Last"], log["Done"])

    def last_change(self):
        return json.loads(orthanc.RestApiGet("/changes?last"))["Last"]

    def instance(self, resource):
        try:
            return orthanc.RestApiGet(f"/instances/{resource}/file")
        except orthanc.OrthancException as exc:
            if "nknown resource" in str(exc):
                raise KeyError(resource) from exc
            raise

    def store(self, data):
        return json.loads(orthanc.RestApiPost("/instances", data))["ID"]

    def forward(self, resources):
        orthanc.RestApiPost(f"/modalities/{self.forward_to}/store",
                            json.dumps({"Resources": resources, "Synchronous": True}))

    def progress(self):
        value = orthanc.GetGlobalProperty(PROGRESS_PROPERTY, "")
        return int(value) if value else None

    def set_progress(self, seq):
        orthanc.SetGlobalProperty(PROGRESS_PROPERTY, str(seq))

    def log(self, text):
        orthanc.LogWarning(text)  # the level Orthanc shows by default


class _Model:
    """The model, loaded on the worker's thread before it reads the log (OpenVINO takes
    seconds to import: Orthanc's start should not wait for it, the first scan need not)."""

    def __init__(self, settings):
        self.settings, self.segmenter = settings, None

    def load(self):
        from fetalview.core.model.segmenter import Segmenter
        self.segmenter = Segmenter(device=self.settings.device)
        orthanc.LogWarning(f"fetalview: model {self.segmenter.model_version} on "
                           f"{self.segmenter.device_label}"
                           + (f" ({self.segmenter.fallback_reason})"
                              if self.segmenter.fallback_reason else ""))

    def measure(self, data):
        from fetalview.orthanc.arrival import measure_arrival
        return measure_arrival(self.segmenter, data, self.settings.classes,
                               self.settings.annotated_image)


def _start():
    config = json.loads(orthanc.GetConfiguration())
    if not _environment(config.get("Fetalview") or {}):
        return
    from fetalview.orthanc.catchup import ArrivalWorker
    from fetalview.orthanc.configuration import SettingError, Settings
    try:
        settings = Settings.of(config)
    except SettingError as exc:
        orthanc.LogError(f"fetalview: not started: {exc}")
        return
    model = _Model(settings)
    worker = ArrivalWorker(OrthancArchive(settings.forward_to), model.measure,
                           forward=bool(settings.forward_to), prepare=model.load)

    def on_change(change_type, level, resource):
        if change_type == orthanc.ChangeType.NEW_INSTANCE:
            worker.wake()
        elif change_type == orthanc.ChangeType.ORTHANC_STARTED:
            worker.start()
        elif change_type == orthanc.ChangeType.ORTHANC_STOPPED:
            worker.stop()

    orthanc.RegisterOnChangeCallback(on_change)
    orthanc.LogWarning("fetalview: measuring ultrasound images as they arrive")


_start()
