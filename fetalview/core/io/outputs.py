"""One rule for every file fetalview writes: an output never replaces an input.

A batch reads scans and pixel-size CSVs and writes a results CSV, an HC18 submission, and per
scan a mask, an overlay and a report. Pointing an output at the wrong place (``--overlays`` at
the scans' own folder, ``--out`` at a scan or at the pixel-size CSV) must never destroy a
patient's scan or the calibration its millimetres rest on, and two outputs of one run must
never replace each other. So:

- per-scan outputs carry names no scan has: ``<stem>_fetalview_<role><ext>``
  (``output_name``), and fetalview's PNGs carry a text chunk by which ``ownfiles`` recognises
  them whatever they are renamed to, so that ``list_scans`` never offers them as scans;
- ``OutputPlan`` is told the run's inputs, then every output before any work is done; it refuses
  (``OutputRefused``, a message naming the option and the file) an output that is an input, a
  scan, a pixel-size CSV or a sidecar, one that another output of the run already claims, and an
  existing file at a per-scan output name that fetalview did not write;
- a file the user named (``--out``, ``--hc18-submission``, a file chosen in the app's save
  dialog) is written by ``write_atomic`` (whole files) or ``GrowingFile`` (rows as they come)
  *through* a symbolic link (the link stays, its target gets the data; the plan has checked the
  target) and straight into a pipe or a character device such as ``/dev/stdout``; a folder, a
  block device or a socket is refused, never replaced. ``GrowingFile`` resolves the name once,
  when the run starts. ``create_atomic`` writes a file only where nothing is (an automatic
  result that must never replace what a person saved a moment before);
- a per-scan output in an output folder (mask, overlay, report, SR and SC) is written by
  ``write_outputs`` and *never* through a link: the name is checked again just before the
  rename, when a symbolic link there (planted during the run, or a link to another patient's
  overlay) or a file fetalview did not write refuses the write (``OutputTaken``); a link made
  after that check is replaced by the rename itself, never followed. One scan's SR and SC are
  written together: both or neither;
- every temporary file is ``.<name>.<random>.tmp`` beside its name and locked while its writer
  lives; a run removes those of its own output names that a killed writer left (unlocked and
  over an hour old, ``remove_stale_temporaries``), and nothing else. ``.partial`` files hold a
  failed or killed batch's rows and are never removed: a run names the ones it finds
  (``GrowingFile.leftovers``).

A new output plugs into the same rule in two lines, as ``--dicom-out DIR`` does in
``batch.plan_batch`` (one file per scan, checked before any work, written atomically)::

    plan.folder(outputs.dicom, "--dicom-out", [stem + "_SR.dcm" for stem in stems])
    ...
    write_outputs([(outputs.dicom / (stem + "_SR.dcm"), dataset_bytes)])

and a single named file with ``plan.file(path, "--option")``. A file written into a folder the
app or the batch lists must also be recognisable as fetalview's own by its content
(``ownfiles.is_own_output``: a PNG text chunk, the PDF creator, DICOM Software Versions).
"""

from __future__ import annotations

import errno
import os
import re
import stat
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no advisory locks, so no temporary file is ever judged stale
    fcntl = None

from fetalview.core.io.scans import IMAGE_SUFFIXES, is_scan_file
from fetalview.core.io.ownfiles import is_own_output
from fetalview.core.io.safetext import display_name


class OutputRefused(ValueError):
    """An output would replace an input or another output; nothing has been done yet."""


class OutputTaken(FileExistsError):
    """At write time, a per-scan output's name holds a symbolic link or a file fetalview did
    not write: it is left as it is, and this output is not written."""

    def __init__(self, path: Path, why: str):
        super().__init__(errno.EEXIST, why, str(path))

    def __str__(self) -> str:
        return f"{display_name(Path(self.filename))}: {self.strerror}"


#: A temporary file older than this, and not locked, was left by a writer that was killed (a
#: live writer holds its lock and keeps its file for seconds at most).
STALE_TEMPORARY_SECONDS = 3600


def reason(exc: OSError) -> str:
    """Why a write failed, in plain words: a full disk says so."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"the disk is full ({exc.strerror})"
    if exc.errno == errno.EROFS:
        return f"the disk is read-only ({exc.strerror})"
    return exc.strerror or str(exc)


def output_name(stem: str, role: str, ext: str) -> str:
    """The file name of one scan's output: a name no scan has (``001_HC_fetalview_mask.png``)."""
    return f"{stem}_fetalview_{role}{ext}"


def _key(path: Path) -> str:
    """One spelling per file: symbolic links and ``..`` resolved, so aliases meet."""
    return os.path.realpath(path)


def _stream(path: Path) -> bool:
    """Whether ``path`` is written into rather than replaced: a pipe or a character device
    (``/dev/null``, a terminal), or a name of one of the process's open files (``/dev/stdout``,
    ``/proc/self/fd/1``) even when the shell redirected it to a file (``>>`` keeps appending)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return (stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)
            or (stat.S_ISREG(mode) and os.path.abspath(path).startswith(("/dev/", "/proc/"))))


class OutputPlan:
    """Every file a run reads and writes, checked before any work.

    ``protected`` are the run's inputs (scans, pixel-size CSVs); ``file`` and ``folder`` claim
    outputs and raise OutputRefused on the first clash.
    """

    def __init__(self, protected: Iterable[Path]):
        self.inputs = {_key(p): Path(p) for p in protected}
        self.claimed: dict[str, str] = {}
        self.folders: dict[Path, str] = {}
        self.names: dict[Path, set[str]] = {}  # per output folder, the names this run writes

    def file(self, path: Path, what: str) -> None:
        """A file the user named (``--out results.csv``): it may replace an earlier results
        file, never an input, a scan, a pixel-size CSV or a sidecar."""
        path = Path(path)
        if _stream(path):
            return  # written into: /dev/stdout prints, /dev/null discards; nothing is replaced
        real = Path(_key(path))
        if real.exists() and not real.is_file():
            raise OutputRefused(f"{what} {path}: not a file that can be written (a folder or a "
                                "device); name a file")
        if real.suffix.lower() in IMAGE_SUFFIXES or (real.is_file() and is_scan_file(real)):
            raise OutputRefused(f"{what} {path}: that is a scan's name; fetalview never writes "
                                "over a scan. Name a .csv file")
        if "pixel_size" in real.name.lower() or real.name.endswith(".fetalview.json"):
            raise OutputRefused(f"{what} {path}: that would replace a pixel-size file or a "
                                "sidecar this run or the app reads. Name another file")
        self._claim(path, what)

    def folder(self, folder: Path, what: str, names: Iterable[str]) -> None:
        """A folder for one file per scan (made by ``make_folders``): each name in it is claimed,
        and an existing file there may be replaced only if fetalview wrote it."""
        folder = Path(folder)
        if folder.exists() and not folder.is_dir():
            raise OutputRefused(f"{what} {folder}: a file, not a folder")
        self.folders[folder] = what
        for name in names:
            path = folder / name
            self._claim(path, what)
            self.names.setdefault(folder, set()).add(name)
            if path.is_symlink():
                raise OutputRefused(f"{what}: {display_name(path)} in {folder} is a symbolic "
                                    "link; fetalview never writes through a link in an output "
                                    "folder. Remove it or choose another folder")
            if path.exists() and not (path.is_file() and is_own_output(path)):
                raise OutputRefused(f"{what}: {display_name(path)} in {folder} exists and was "
                                    "not written by fetalview; it is left alone. Choose "
                                    "another folder")

    def make_folders(self) -> None:
        """Once every output is checked: the output folders that are missing."""
        for folder, what in self.folders.items():
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise OutputRefused(f"{what} {folder}: cannot make the folder "
                                    f"({exc.strerror or exc})") from None

    def remove_stale_temporaries(self) -> list[Path]:
        """Remove, in the output folders, the temporary files of this run's output names that
        a killed writer left (``_remove_if_stale``); the removed files."""
        removed = []
        for folder, names in self.names.items():
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            for entry in entries:
                match = _TEMPORARY.fullmatch(entry.name)
                if match and match[1] in names and _remove_if_stale(entry.path):
                    removed.append(Path(entry.path))
        return removed

    def _claim(self, path: Path, what: str) -> None:
        key = _key(path)
        if key in self.inputs:
            raise OutputRefused(f"{what} {path}: that is an input of this run "
                                f"({display_name(self.inputs[key])}); fetalview never writes "
                                "over its inputs")
        if key in self.claimed:
            raise OutputRefused(f"{what} {path}: {self.claimed[key]} writes that file too; "
                                "give each output its own name")
        self.claimed[key] = what


def _file_mode(path: Path, follow_links: bool = True) -> int:
    """The replaced file's permissions, or what a plain ``open`` would give a new file."""
    try:
        st = os.stat(path, follow_symlinks=follow_links)
        if stat.S_ISREG(st.st_mode):
            return st.st_mode & 0o777
    except OSError:
        pass
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def _target(path: Path) -> Path:
    """Where the bytes for ``path`` go: ``path`` itself if it is a stream (``_stream``), else
    the file that symbolic links name. A folder, block device or socket is refused with
    the OSError a write to it would raise."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return Path(_key(path))
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, "a folder, not a file", str(path))
    if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)):
        raise OSError(errno.EINVAL, "not a regular file, pipe or terminal", str(path))
    return path if _stream(path) else Path(_key(path))


#: The name of a temporary file (``_flushed_copy``): its final name is the first group.
_TEMPORARY = re.compile(r"\.(.+)\.[a-z0-9_]{8}\.tmp", re.DOTALL)


def _flushed_copy(path: Path, data: bytes, mode: int | None = None) -> tuple[int, str]:
    """A temporary file holding ``data``, flushed to disk, with a unique name (two writers of
    one file never share it) in ``path``'s folder (a rename or link is only atomic within one
    file system), permissions ``mode`` (default: ``path``'s, or a new file's), and locked (``_remove_if_stale`` leaves it alone) until
    its descriptor, returned with its name, is closed."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix="." + path.name + ".", suffix=".tmp")
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.fchmod(fd, _file_mode(path) if mode is None else mode)  # mkstemp makes 0600
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        _remove(tmp)
        raise
    return fd, tmp


def _remove_if_stale(path: str) -> bool:
    """Remove ``path`` only if it certainly is a temporary file whose writer is gone: a regular
    file (not a link), untouched for ``STALE_TEMPORARY_SECONDS`` and not locked by its writer.
    Where locks are unknown (Windows) nothing is removed. True if removed."""
    if fcntl is None:
        return False
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or time.time() - st.st_mtime < STALE_TEMPORARY_SECONDS:
            return False
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # BlockingIOError: its writer lives
        now = os.lstat(path)
        if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino):
            return False
        os.unlink(path)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def _remove(tmp: str | Path) -> None:
    try:
        os.unlink(tmp)
    except OSError:
        pass


def _place(files: list[tuple[Path, bytes, int]], check=None) -> None:
    """Each (path, data, mode) flushed to a temporary file, then all renamed to their names in
    order, ``check(path)`` just before each rename; when one fails, those already renamed are
    removed again (all or none) and no temporary file stays."""
    copies: list[tuple[int, str]] = []
    placed: list[Path] = []
    try:
        for path, data, mode in files:
            copies.append(_flushed_copy(path, data, mode))
        for (path, _, _), (_, tmp) in zip(files, copies):
            if check is not None:
                check(path)
            os.replace(tmp, path)
            placed.append(path)
    except BaseException:
        for path in placed:
            _remove(path)
        for _, tmp in copies[len(placed):]:
            _remove(tmp)
        raise
    finally:
        for fd, _ in copies:
            os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path``, a file the user named, so that a crash leaves the old file or
    the new, never a mix (the data is flushed to disk before it takes the name).

    A symbolic link is written through; a pipe or a character device (``/dev/stdout``) is
    written into.
    """
    path = _target(Path(path))
    if _stream(path):
        with open(path, "ab") as f:
            f.write(data)
        return
    _place([(path, data, _file_mode(path))])


def _own_place(path: Path) -> None:
    """Refuse (``OutputTaken``) a per-scan output's name that holds a link or a file fetalview
    did not write, whatever was there when the run was planned."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if stat.S_ISLNK(mode):
        raise OutputTaken(path, "a symbolic link is at that name, and fetalview never writes "
                                "through a link in an output folder; it is left as it is")
    if not (stat.S_ISREG(mode) and is_own_output(path)):
        raise OutputTaken(path, "a file fetalview did not write is at that name; it is left "
                                "as it is")


def write_outputs(files: Iterable[tuple[Path, bytes]]) -> None:
    """Write one scan's files in output folders atomically, all or none (an SR never without
    its SC), never through a symbolic link and never over a file fetalview did not write
    (``OutputTaken``, checked at the rename)."""
    _place([(Path(path), data, _file_mode(path, follow_links=False)) for path, data in files],
           _own_place)


def create_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` as ``write_atomic`` does, but only as a new file: whatever
    holds the name (a file, a link, anything), even one made by another writer while this one
    wrote, is never replaced, and FileExistsError says so.

    The flushed copy is hard-linked to the name, which fails when the name is taken. Where the
    file system has no hard links (FAT, some network shares) the name is checked just before a
    rename instead (on Windows the rename itself refuses a taken name), which leaves another
    writer a window of microseconds.
    """
    path = Path(path)
    if os.path.lexists(path):
        raise FileExistsError(errno.EEXIST, "the name is taken", str(path))
    fd, tmp = _flushed_copy(path, data)
    try:
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise
        except OSError:  # no hard links on this file system
            if os.path.lexists(path):
                raise FileExistsError(errno.EEXIST, "the name is taken", str(path)) from None
            os.rename(tmp, path)
    finally:
        os.close(fd)
        _remove(tmp)  # linked: a second name of the file; renamed: gone already


def _partial_names(name: str) -> re.Pattern:
    """``<name>.partial`` and ``<name>.<n>.partial``: a batch's rows while it runs."""
    return re.compile(re.escape(name) + r"(\.[0-9]+)?\.partial", re.DOTALL)


class GrowingFile:
    """A file written piece by piece that a kill leaves useful: the pieces go, flushed as they
    come, to ``<name>.partial`` beside it, which becomes ``<name>`` atomically at ``finish``.
    A pipe or device gets the pieces directly. An existing ``.partial`` (another batch's, or a
    killed one's) is never reused: the next free ``<name>.<n>.partial`` is taken, and
    ``leftovers`` names those found. A piece that fails (a full disk) is cut off again, so
    the partial file always ends on a whole piece."""

    def __init__(self, path: Path):
        self.path = _target(Path(path))
        self.leftovers: list[Path] = []
        if _stream(self.path):
            self.partial = None
            self._file = open(self.path, "ab")
            return
        pattern = _partial_names(self.path.name)
        self.leftovers = sorted((p for p in self.path.parent.iterdir()
                                 if pattern.fullmatch(p.name)),
                                key=lambda p: (len(p.name), p.name))  # .partial, .2, ... .10
        for n in range(1, 1000):
            suffix = ".partial" if n == 1 else f".{n}.partial"
            self.partial = self.path.with_name(self.path.name + suffix)
            try:
                self._fd = os.open(self.partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                                   _file_mode(self.path))
                break
            except FileExistsError:
                continue
        else:
            raise FileExistsError(errno.EEXIST, "too many .partial files", str(self.partial))
        self._file = None
        self._size = 0

    def write(self, data: bytes) -> None:
        if self._file is not None:
            self._file.write(data)
            self._file.flush()
            return
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self._fd, view):]
        except OSError:
            try:
                os.ftruncate(self._fd, self._size)  # no half row: back to the last whole one
            except OSError:
                pass
            raise
        self._size += len(data)

    def finish(self) -> None:
        """Everything written: the partial file takes the final name (the old results stay
        until then). On failure the partial file stays, holding every row."""
        if self._file is not None:
            self._file.close()
            return
        try:
            os.fsync(self._fd)
        finally:
            os.close(self._fd)
            self._fd = None
        os.replace(self.partial, self.path)

    def abandon(self) -> None:
        """Stop without completing: what was written stays in the partial file."""
        try:
            if self._file is not None:
                self._file.close()
            elif self._fd is not None:
                os.close(self._fd)
                self._fd = None
        except OSError:  # a full disk refuses the last flush again: the rows are kept anyway
            pass
