"""A scan's saved annotation across its places, so a clinician's work is never lost.

The app saves the sidecar (the format: ``fetalview.core.record.sidecar``) after every change,
atomically, so killing the app at any moment leaves either the previous or the new file, never
half of one. When the scan's folder cannot be written (a read-only share, a CD) the sidecar
goes to an application-data folder instead, under a short hash of the scan's absolute path.
This module holds those rules, apart from the format, because they are about files on disk
and other programs, not about what a sidecar says.

A clinician's saved work is never written over unless this version read it whole
(``SidecarStore``):

- A sidecar this version cannot fully read (damaged, of another format, or of a newer version)
  is kept byte for byte; the app saves beside it under ``alternate_path`` and says so.
- An annotation whose identity differs from the scan's (the scan was replaced, or the sidecar
  copied beside another scan) is set aside under a new name (``SidecarStore.set_aside``),
  never deleted, and the scan is measured afresh.
- Before writing, the store checks the file still holds what it last read or wrote (a hash of
  its bytes: a modification time misses two saves within the file system's resolution). If
  another program (a second fetalview on the same scan) changed it meanwhile, the two are
  merged field by field against what was read (``merge_json``); where both changed the same
  thing, this save wins and the other's whole file is kept aside under a new name, never
  silently dropped.
- What a result was read from (``OnDisk``: the scan file's size, times and inode, and a
  hash of each sidecar place) is kept with it, so an app that holds a result in memory
  can tell, cheaply and before it exports, sends or shows it again, whether another
  workstation changed the sidecar or the scan was replaced since (``on_disk_now``).
- A result no person has looked at (the folder measured in the background) is saved only
  where the scan has no sidecar at all, as a new file that never replaces one made meanwhile
  (``SidecarStore.save_new``): a clinician's save always wins over an automatic one.

Where a save goes: a clinician's work (``model_result.automatic_only`` says when an annotation
holds none) beside the scan, where every workstation opening the folder finds it. An automatic
result goes to the app-data folder (unless the user chose ``automatic_beside``), so that
opening a shared folder does not fill it with one file per scan; beside the scan only when the
app-data folder cannot be written, or when the scan already has a sidecar there (a later save
follows it, so an older file beside the scan never outlives a newer one elsewhere). Reading
finds a result in any place, and an automatic result in the app-data folder never outranks a
clinician's work beside the scan (another workstation's clock may be behind this one's).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from fetalview.core.io.outputs import create_atomic, write_atomic
from fetalview.core.record.model_result import automatic_only
from fetalview.core.record.sidecar import (FORMAT, MAX_BYTES, VERSION, Annotation, SidecarError,
                                           alternate_path, encode, fallback_path, from_json,
                                           read_sidecar, sidecar_path, to_json)

def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def save_annotation(scan_path: Path, annotation: Annotation, fallback_root: Path) -> Path:
    """Save beside the scan, else under ``fallback_root``; returns where it went.

    ``saved_at`` is stamped now, which is how ``load_annotation`` picks the newer of two copies.
    Raises SidecarError when neither place can be written.
    """
    return SidecarStore(scan_path, fallback_root).save(annotation).path


def _saved_time(annotation: Annotation) -> datetime:
    if annotation.saved_at is None:
        return datetime.min.replace(tzinfo=timezone.utc)
    t = datetime.fromisoformat(annotation.saved_at)
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _odd(path: Path) -> bool:
    """Whether ``path`` is there but no regular file: a pipe (opening it would wait for a
    writer, or a reader, for ever), a device, a folder, a link to nothing. Never read or
    written: the link would be written through to wherever it points."""
    return os.path.lexists(path) and not path.is_file()


def _snapshot(path: Path) -> str | None:
    """A hash of what ``path`` holds now (its first ``MAX_BYTES``); None when nothing is
    there; "" when it cannot be read or is no regular file (which no later content equals)."""
    if _odd(path):
        return ""
    if not path.is_file():
        return None
    try:
        with open(path, "rb") as f:
            return _digest(f.read(MAX_BYTES + 1))
    except OSError:
        return ""


@dataclass(frozen=True)
class OnDisk:
    """What a scan's files held when its result was read or written: the scan file's
    ``scan_stamp`` (None: no file), and a hash of each sidecar place (None: no file). A result held in memory stands for the files only while they still hold this;
    otherwise it is read again (and the pixels checked again, when the scan file changed)."""

    scan: tuple[int, ...] | None
    sidecars: tuple[str | None, ...]


def scan_stamp(scan_path: Path) -> tuple[int, int, int, int] | None:
    """The scan file's size, modification and change times (ns) and inode: a replaced or
    rewritten scan changes one of them, without reading the file (the change time even when a
    copy keeps the old modification time, ``cp -p``)."""
    try:
        st = os.stat(scan_path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino


def on_disk_now(scan_path: Path, fallback_root: Path) -> OnDisk:
    """What the scan's files hold now (a stat of the scan, a hash of each small sidecar)."""
    places = (sidecar_path(scan_path), alternate_path(scan_path),
              fallback_path(scan_path, fallback_root))
    return OnDisk(scan_stamp(scan_path), tuple(_snapshot(place) for place in places))


@dataclass(frozen=True)
class Found:
    """One sidecar file as read: its annotation, or why this version must keep it as it is."""

    path: Path
    annotation: Annotation | None
    error: SidecarError | None = None


@dataclass(frozen=True)
class Saved:
    """What a save did. ``annotation`` is what is now on disk: the one given, or that merged
    with another program's changes; ``note`` says what happened to the other's changes."""

    path: Path
    annotation: Annotation
    note: str | None = None


def _set_aside_name(path: Path, why: str) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    stem = path.name[:-len(".json")] if path.name.endswith(".json") else path.name
    for n in range(1, 1000):
        candidate = path.with_name(f"{stem}.{why}-{stamp}{'' if n == 1 else f'-{n}'}.json")
        if not os.path.lexists(candidate):
            return candidate
    raise SidecarError(f"{path}: no free name to keep it aside")


class SidecarStore:
    """One scan's saved annotation in its places (beside the scan, beside under
    ``alternate_path``, the app-data fallback) and what each held when last read or written.

    Reading never writes. ``save`` writes only a place this version read whole (or an empty
    one) and merges a change made there by another program since; ``save_new`` writes only
    where no place holds a file; ``set_aside`` renames a file that belongs to other pixels.
    Not thread-safe: one store per open scan (or per background job).
    """

    def __init__(self, scan_path: Path, fallback_root: Path, automatic_beside: bool = False):
        self.scan_path = Path(scan_path)
        self.automatic_beside = automatic_beside  # automatic results beside the scan too
        self.places = (sidecar_path(scan_path), alternate_path(scan_path),
                       fallback_path(scan_path, fallback_root))
        self.found: list[Found] = []
        self._digests: dict[Path, str | None] = {}  # what each place held (None: no file)
        self._base: dict[Path, dict] = {}  # the JSON of a readable place, for merging
        for place in self.places:
            self._digests[place] = _snapshot(place)
            if self._digests[place] is None:
                continue
            try:
                if _odd(place):
                    raise SidecarError(f"{place}: not a regular file; it is left alone")
                annotation = read_sidecar(place)
            except SidecarError as exc:
                self.found.append(Found(place, None, exc))
            else:
                self.found.append(Found(place, annotation))
                self._base[place] = to_json(annotation)

    def on_disk(self, scan: tuple[int, ...] | None) -> OnDisk:
        """What this store last read or wrote in each place, with ``scan``, the scan file's
        ``scan_stamp`` taken before its pixels were read."""
        return OnDisk(scan, tuple(self._digests[place] for place in self.places))

    @property
    def kept(self) -> list[Found]:
        """Files this version cannot fully read: never written, renamed or deleted."""
        return [f for f in self.found if f.error is not None]

    def newest(self) -> Found | None:
        """The most recently saved readable annotation (the one beside the scan on a tie); an
        automatic result in the app-data folder only where no clinician's work lies beside
        the scan."""
        readable = [f for f in self.found if f.annotation is not None]
        if any(not automatic_only(f.annotation) for f in readable if f.path in self.beside):
            readable = [f for f in readable if f.path in self.beside
                        or not automatic_only(f.annotation)]
        return max(readable, key=lambda f: _saved_time(f.annotation), default=None)

    def set_aside(self, found: Found, why: str) -> Path | None:
        """Rename ``found``'s file to a name no sidecar has (``why`` in it, e.g. "other-scan")
        and forget it; returns the new name, or None when it cannot be renamed (then it is
        kept as it is, never written)."""
        self.found.remove(found)
        try:
            target = _set_aside_name(found.path, why)
            os.rename(found.path, target)
        except (OSError, SidecarError) as exc:
            self.found.append(Found(found.path, None, SidecarError(f"{found.path}: {why}, "
                                    f"and it cannot be renamed ({exc})")))
            return None
        self._digests[found.path] = None
        self._base.pop(found.path, None)
        return target

    @property
    def beside(self) -> tuple[Path, Path]:
        """The places beside the scan (the usual name, and ``alternate_path``)."""
        return self.places[:2]

    def places_to_save(self) -> list[Path]:
        """Where a save may go, in order: a place holding a file this version must keep is
        skipped (its content is someone else's work)."""
        kept = {f.path for f in self.kept}
        return [place for place in self.places if place not in kept]

    def save(self, annotation: Annotation) -> Saved:
        """Write ``annotation`` to the first place that takes it; ``saved_at`` is stamped now
        (which is how the newest of several copies is found). SidecarError when none can."""
        stamp = _now()
        failures, notes = [], []
        for place in self._order(annotation):
            try:
                self._make_folder(place)
                saved = self._save_to(place, annotation, stamp)
            except _NowKept as kept:
                notes.append(str(kept))
            except OSError as exc:
                failures.append(self._failure(place, exc))
            else:
                return replace(saved, note="; ".join(notes + [saved.note or ""]).strip("; ")
                               or None)
        why = ", nor ".join(failures + notes) or "every place holds a file to keep"
        raise SidecarError(f"cannot save the measurement of {self.scan_path.name}: {why}")

    def _order(self, annotation: Annotation) -> list[Path]:
        """``places_to_save`` in the order a save of ``annotation`` tries them: the app-data
        folder first for an automatic result, unless the user keeps those beside the scan or
        the scan has a sidecar there, one to keep included (module docstring)."""
        places = self.places_to_save()
        if self.automatic_beside or not automatic_only(annotation) or any(
                f.path in self.beside for f in self.found):
            return places
        return sorted(places, key=lambda place: place in self.beside)

    def save_new(self, annotation: Annotation) -> Saved | None:
        """Write ``annotation`` (a result no person has looked at) only while this scan has no
        sidecar at all; None when one is there, also when it was made after this store read
        the places (by the user's open document, by another fetalview): the file is created,
        never replaced, so whatever a person saved a moment before stands. It goes to the
        app-data folder only, unless ``automatic_beside`` (a result not saved is measured
        again when the scan is opened: nothing of a person's is lost). SidecarError when no
        place can be written."""
        stamp = _now()
        data = encode(annotation, stamp)
        failures = []
        for place in self.places if self.automatic_beside else self.places[2:]:
            if self.found or any(os.path.lexists(p) for p in self.places):
                return None
            try:
                self._make_folder(place)
                create_atomic(place, data)
            except FileExistsError:
                return None
            except OSError as exc:
                failures.append(self._failure(place, exc))
            else:
                return Saved(place, self._wrote(place, annotation, stamp, data))
        raise SidecarError(f"cannot save the measurement of {self.scan_path.name}: "
                           f"{', nor '.join(failures)}")

    def _make_folder(self, place: Path) -> None:
        if place == self.places[2]:
            place.parent.mkdir(parents=True, exist_ok=True)

    def _failure(self, place: Path, exc: OSError) -> str:
        where = "beside the scan" if place.parent == self.scan_path.parent \
            else f"in {place.parent}"
        return f"{where} ({exc.strerror or exc})"

    def _save_to(self, place: Path, annotation: Annotation, stamp: str) -> Saved:
        note = None
        if _snapshot(place) != self._digests.get(place):
            annotation, note = self._merge(place, annotation)
        data = encode(annotation, stamp)
        write_atomic(place, data)
        return Saved(place, self._wrote(place, annotation, stamp, data), note)

    def _wrote(self, place: Path, annotation: Annotation, stamp: str, data: bytes) -> Annotation:
        """Remember that ``place`` now holds ``data``, ``annotation`` saved at ``stamp``."""
        self._digests[place] = _digest(data)
        saved = replace(annotation, saved_at=stamp)
        self._base[place] = to_json(saved)
        self.found = [f for f in self.found if f.path != place] + [Found(place, saved)]
        return saved

    def _merge(self, place: Path, ours: Annotation) -> tuple[Annotation, str]:
        """``ours`` with what another program changed in ``place`` since it was read."""
        who = f"{place.name} was changed by another program (another fetalview?)"
        try:
            if _odd(place):
                raise SidecarError(f"{place}: not a regular file any more")
            theirs = read_sidecar(place) if place.is_file() else None
        except SidecarError as exc:
            self.found = [f for f in self.found if f.path != place] + [Found(place, None, exc)]
            raise _NowKept(f"{who} into a file this version cannot read; it is kept "
                           "unchanged") from None
        if theirs is None:
            return ours, f"{who}: it was removed, this save writes it again"
        # A place that held nothing when read merges against what this store showed: the
        # newest copy it read elsewhere (an automatic result in the app-data folder), else an
        # empty measurement.
        shown = self.newest()
        base = self._base.get(place) or (to_json(shown.annotation) if shown is not None
                                         else to_json(Annotation(scan=theirs.scan)))
        merged, clash = merge_json(base, to_json(ours), to_json(theirs))
        try:
            merged_annotation = from_json({**merged, "format": FORMAT, "version": VERSION})
        except ValueError:  # the two do not combine: keep each whole
            merged_annotation, clash = ours, ["the measurement"]
        if clash:
            return self._keep_theirs(place, merged_annotation,
                                     f"{who}; both changed {', '.join(clash)}: yours are kept")
        return merged_annotation, f"{who}; its changes were merged with yours"

    def _keep_theirs(self, place: Path, annotation: Annotation, why: str):
        target = _set_aside_name(place, "other-copy")
        with open(place, "rb") as f:
            write_atomic(target, f.read(MAX_BYTES + 1))
        return annotation, f"{why}, the other copy is kept as {target.name}"


class _NowKept(Exception):
    """A place changed, since it was read, into a file this version must keep."""


#: Fields that change together (one contour); each other field, and each key of ``extra``,
#: merges on its own.
_CONTOUR = ("frame", "ellipse", "auto_ellipse", "edited", "model_version", "confidence",
            "identity")


def merge_json(base: dict, ours: dict, theirs: dict) -> tuple[dict, list[str]]:
    """Three-way merge of sidecar JSON: whatever only one side changed from ``base`` is taken
    from that side; where both changed the same field differently ``ours`` wins and the field
    is named in the returned list."""
    def units(d: dict) -> dict:
        out = {k: v for k, v in d.items() if k not in _CONTOUR and k not in ("extra", "saved_at")}
        out["contour"] = [d.get(k) for k in _CONTOUR]
        extra = d.get("extra") if isinstance(d.get("extra"), dict) else {}
        out.update({("extra", k): v for k, v in extra.items()})
        return out

    b, o, t = units(base), units(ours), units(theirs)
    missing = object()
    merged, clash = {}, []
    for key in dict.fromkeys([*o, *t]):
        bv, ov, tv = b.get(key, missing), o.get(key, missing), t.get(key, missing)
        if ov == tv or tv == bv:
            value = ov
        elif ov == bv:
            value = tv
        else:
            value = ov
            clash.append(key[1] if isinstance(key, tuple) else key)
        if value is not missing:
            merged[key] = value
    result = {k: v for k, v in merged.items() if not isinstance(k, tuple) and k != "contour"}
    result.update(zip(_CONTOUR, merged["contour"]))
    result["extra"] = {k[1]: v for k, v in merged.items() if isinstance(k, tuple)}
    return result, clash


def load_annotation(scan_path: Path, fallback_root: Path) -> Annotation | None:
    """The newest saved annotation of a scan from any of its places, or None if there is none.

    A damaged copy raises SidecarError, unless another place holds a valid one (then the
    valid one wins: the damaged file is most likely an old one from an earlier crash).
    Reads only: nothing is written or renamed.
    """
    store = SidecarStore(scan_path, fallback_root)
    newest = store.newest()
    if newest is None and store.kept:
        raise store.kept[0].error
    return None if newest is None else newest.annotation
