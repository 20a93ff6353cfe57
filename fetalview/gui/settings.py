"""The app's remembered choices, over QSettings, with the storage injectable for tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, QSize, QStandardPaths

from fetalview.core.measure.biometry import BPD_CONVENTIONS, OUTER_OUTER
from fetalview.core.measure.pixelsize import PixelSize

DEVICES = ("auto", "cpu", "cuda")
#: How a folder's remembered pixel size names its source next to every mm value.
FOLDER_SOURCE = "typed by user for this folder"
MAX_RECENT = 10
#: Minutes without input after which the next confirmation asks who signs (0: never).
IDLE_MINUTES = 15
#: The clinic's name: one setting for the PDF's header and the DICOM report's organisation.
CLINIC_KEY = "clinic/name"
#: Where the PACS dialog kept the clinic's name before it was one setting: still read.
OLD_CLINIC_KEY = "pacs/organization"


@dataclass(frozen=True)
class RecentList:
    """A list as it was opened: its folders or scans, and the scan last shown in it."""

    paths: tuple[Path, ...]
    folders: bool  # whether it opened a folder (Open recent names folders first)
    at: Path | None

    @property
    def label(self) -> str:
        """The menu's text: the first thing opened, how many more, and where it was left."""
        more = f" and {len(self.paths) - 1} more" if len(self.paths) > 1 else ""
        at = f" (at {self.at.name})" if self.at is not None and self.at not in self.paths else ""
        return f"{self.paths[0]}{more}{at}"


class AppSettings:
    """Typed access to the settings the app uses, so keys and defaults live in one place.

    Args:
        store: where settings live; default the platform's usual place. Tests pass an INI
            file under a temporary folder so they never touch the user's settings.
        data_dir: where sidecars go when a scan's folder is read-only, and automatic results
            unless ``automatic_beside``; default under the platform's application-data folder.
    """

    def __init__(self, store: QSettings | None = None, data_dir: Path | None = None):
        self.store = store if store is not None else QSettings()
        if data_dir is None:
            location = QStandardPaths.writableLocation(QStandardPaths.AppDataLocation)
            data_dir = Path(location or Path.home() / ".fetalview") / "sidecars"
        self.data_dir = Path(data_dir)
        #: Who signs confirmations now ("" until someone says): held for this run of the app
        #: only, never stored, so a shared workstation never signs for the last person who
        #: used it; the status bar shows it and switches it (``panels/signer.py``).
        self.operator = ""

    def _bool(self, key: str, default: bool) -> bool:
        value = self.store.value(key, default)
        return value if isinstance(value, bool) else str(value).lower() == "true"

    @property
    def device(self) -> str:
        value = str(self.store.value("segmentation/device", "auto"))
        return value if value in DEVICES else "auto"

    @device.setter
    def device(self, value: str) -> None:
        if value not in DEVICES:
            raise ValueError(f"device must be one of {DEVICES}")
        self.store.setValue("segmentation/device", value)

    @property
    def segment_on_open(self) -> bool:
        return self._bool("segmentation/on_open", True)

    @segment_on_open.setter
    def segment_on_open(self, value: bool) -> None:
        self.store.setValue("segmentation/on_open", bool(value))

    @property
    def automatic_beside(self) -> bool:
        """Whether the model's results that no person has worked on are saved beside each
        scan, like a clinician's edits and sign-offs; by default (False) they stay in
        ``data_dir``, so that opening a shared folder does not write a file beside every scan
        (docs/clinic.md says why)."""
        return self._bool("sidecars/automatic_beside", False)

    @automatic_beside.setter
    def automatic_beside(self, value: bool) -> None:
        self.store.setValue("sidecars/automatic_beside", bool(value))

    @property
    def bpd_convention(self) -> str:
        """How BPD is measured and shown: "outer-outer" (the ellipse) or "outer-inner"."""
        value = str(self.store.value("measurement/bpd_convention", OUTER_OUTER))
        return value if value in BPD_CONVENTIONS else OUTER_OUTER

    @bpd_convention.setter
    def bpd_convention(self, value: str) -> None:
        if value not in BPD_CONVENTIONS:
            raise ValueError(f"BPD convention must be one of {BPD_CONVENTIONS}")
        self.store.setValue("measurement/bpd_convention", value)

    @property
    def show_outline(self) -> bool:
        return self._bool("view/show_outline", False)

    @show_outline.setter
    def show_outline(self, value: bool) -> None:
        self.store.setValue("view/show_outline", bool(value))

    def _lists(self) -> list[dict]:
        try:
            items = json.loads(str(self.store.value("files/recent_lists", "[]")))
        except ValueError:
            return []
        return [i for i in items if isinstance(i, dict) and isinstance(i.get("paths"), list)
                and i["paths"]] if isinstance(items, list) else []

    @property
    def recent_lists(self) -> list[RecentList]:
        """What was opened, newest first: each Open's folders or scans, and where in that list
        the clinician stopped (not every scan visited: a visit is a place in a list)."""
        return [RecentList(tuple(Path(p) for p in i["paths"]), bool(i.get("folders")),
                           Path(i["at"]) if i.get("at") else None) for i in self._lists()]

    def opened(self, paths: list[Path]) -> None:
        """Note an Open of ``paths`` (absolute): the file dialogs start in its folder next
        time, and it leads Open recent, keeping where a list opened before was left."""
        if not paths:
            return
        folders = [p.is_dir() for p in paths]
        self.last_folder = str(paths[-1] if folders[-1] else paths[-1].parent)
        names = [str(p) for p in paths]
        before = [i for i in self._lists() if i["paths"] == names]
        entry = {"paths": names, "folders": any(folders),
                 "at": before[0].get("at", "") if before else ""}
        rest = [i for i in self._lists() if i["paths"] != names]
        self.store.setValue("files/recent_lists", json.dumps([entry] + rest[:MAX_RECENT - 1]))

    def stopped_at(self, scan: Path) -> None:
        """Note ``scan`` (absolute) as the place in the newest list that holds it."""
        items = self._lists()
        for item in items:
            if any(Path(p) == scan or Path(p) in scan.parents for p in item["paths"]):
                if item.get("at") != str(scan):
                    item["at"] = str(scan)
                    self.store.setValue("files/recent_lists", json.dumps(items))
                return

    @property
    def last_folder(self) -> str:
        return str(self.store.value("files/last_folder", ""))

    @last_folder.setter
    def last_folder(self, value: str) -> None:
        self.store.setValue("files/last_folder", value)

    def _by_folder(self, key: str) -> dict:
        """A setting kept per folder of scans (a JSON object keyed by the folder's full path:
        a moved folder asks again, never guesses)."""
        try:
            values = json.loads(str(self.store.value(key, "{}")))
        except ValueError:
            return {}
        return values if isinstance(values, dict) else {}

    def _set_by_folder(self, key: str, folder: Path, value) -> None:
        values = self._by_folder(key)
        values[str(Path(folder).resolve())] = value
        self.store.setValue(key, json.dumps(values))

    def folder_pixel_size(self, folder: Path) -> PixelSize | None:
        """The pixel size the user gave for every scan of ``folder`` without one of its own.

        Kept in the settings (not in a file in the scan folder, which may be read-only or
        shared), keyed by the folder's full path: a moved folder asks again, never guesses."""
        try:
            return PixelSize(float(self._by_folder("pixel_size/folders")[
                str(Path(folder).resolve())]),
                             FOLDER_SOURCE)
        except (KeyError, TypeError, ValueError):
            return None

    def set_folder_pixel_size(self, folder: Path, mm_per_pixel: float) -> None:
        self._set_by_folder("pixel_size/folders", folder, float(mm_per_pixel))

    def export_folder_for(self, scans: Path) -> Path | None:
        """Where the exports of the scans in folder ``scans`` go; None until the user chose
        (see ``default_export_folder``). One per list, so one patient's or study's exports
        never land among another's."""
        chosen = self._by_folder("export/folders").get(str(Path(scans).resolve()))
        return Path(chosen) if isinstance(chosen, str) and chosen else None

    def set_export_folder_for(self, scans: Path, folder: Path) -> None:
        self._set_by_folder("export/folders", scans, str(folder))

    @property
    def idle_minutes(self) -> int:
        """Minutes without input after which whoever signed is signed out, so the next
        confirmation asks again (0: never, for a computer only one person uses)."""
        try:
            return max(0, int(self.store.value("review/idle_minutes", IDLE_MINUTES)))
        except (TypeError, ValueError):
            return IDLE_MINUTES

    @idle_minutes.setter
    def idle_minutes(self, value: int) -> None:
        self.store.setValue("review/idle_minutes", max(0, int(value)))

    @property
    def clinic_name(self) -> str:
        return clinic_name(self.store)

    @clinic_name.setter
    def clinic_name(self, value: str) -> None:
        self.store.setValue(CLINIC_KEY, " ".join(str(value).split()))

    @property
    def window_layout(self) -> tuple[QByteArray, QByteArray] | None:
        """The main window's geometry and its docks' places and sizes at the last close."""
        geometry = self.store.value("window/geometry")
        state = self.store.value("window/state")
        if isinstance(geometry, QByteArray) and isinstance(state, QByteArray):
            return geometry, state
        return None

    @window_layout.setter
    def window_layout(self, value: tuple[QByteArray, QByteArray]) -> None:
        self.store.setValue("window/geometry", value[0])
        self.store.setValue("window/state", value[1])

    @property
    def window_screen(self) -> QSize | None:
        """The available size of the screen the window was last closed on (None: not known)."""
        size = self.store.value("window/screen")
        return size if isinstance(size, QSize) and size.isValid() else None

    @window_screen.setter
    def window_screen(self, value: QSize) -> None:
        self.store.setValue("window/screen", value)


def clinic_name(store: QSettings) -> str:
    """The clinic's name ("" when none was set), as Settings and the PACS dialog edit it."""
    return str(store.value(CLINIC_KEY, store.value(OLD_CLINIC_KEY, "")) or "").strip()


def default_export_folder(scan_folder: Path) -> Path:
    """Beside the scan folder, not inside it: exports never mix with the scans."""
    scan_folder = Path(scan_folder).resolve()
    return scan_folder.with_name(scan_folder.name + " fetalview exports")
