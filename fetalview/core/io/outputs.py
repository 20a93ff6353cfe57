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
- ``write_atomic`` (whole files) and ``GrowingFile`` (rows as they come) write *through* a
  symbolic link (the link stays, its target gets the data) and straight into a pipe or a
  character device such as ``/dev/stdout``; a folder, a block device or a socket is refused,
  never replaced. ``create_atomic`` writes a file only where nothing is (an automatic result
  that must never replace what a person saved a moment before).

A new output plugs into the same rule in two lines, as ``--dicom-out DIR`` does in
``batch.plan_batch`` (one file per scan, checked before any work, written atomically)::

    plan.folder(outputs.dicom, "--dicom-out", [stem + "_SR.dcm" for stem in stems])
    ...
    write_atomic(outputs.dicom / (stem + "_SR.dcm"), dataset_bytes)

and a single named file with ``plan.file(path, "--option")``. A file written into a folder the
app or the batch lists must also be recognisable as fetalview's own by its content
(``ownfiles.is_own_output``: a PNG text chunk, the PDF creator, DICOM Software Versions).
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

from fetalview.core.io.scans import IMAGE_SUFFIXES, is_scan_file
from fetalview.core.io.ownfiles import is_own_output
from fetalview.core.io.safetext import display_name


class OutputRefused(ValueError):
    """An output would replace an input or another output; nothing has been done yet."""


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
            if (path.exists() or path.is_symlink()) and not (
                    Path(_key(path)).is_file() and is_own_output(path)):
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


def _file_mode(path: Path) -> int:
    """The replaced file's permissions, or what a plain ``open`` would give a new file."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
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


def _flushed_copy(path: Path, data: bytes) -> str:
    """A temporary file holding ``data``, flushed to disk, with a unique name (two writers of
    one file never share it) in ``path``'s folder (a rename or link is only atomic within one
    file system) and the permissions ``path`` has or a new file would get."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix="." + path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            os.chmod(tmp, _file_mode(path))  # mkstemp makes 0600; others may need to read it
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        _remove(tmp)
        raise
    return tmp


def _remove(tmp: str) -> None:
    try:
        os.unlink(tmp)
    except OSError:
        pass


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a crash leaves the old file or the new, never a mix
    (the data is flushed to disk before it takes the name).

    A symbolic link is written through; a pipe or a character device (``/dev/stdout``) is
    written into.
    """
    path = _target(Path(path))
    if _stream(path):
        with open(path, "ab") as f:
            f.write(data)
        return
    tmp = _flushed_copy(path, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise


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
    tmp = _flushed_copy(path, data)
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
        _remove(tmp)  # linked: a second name of the file; renamed: gone already


class GrowingFile:
    """A file written piece by piece that a kill leaves useful: the pieces go, flushed as they
    come, to ``<name>.partial`` beside it, which becomes ``<name>`` atomically at ``finish``.
    A pipe or device gets the pieces directly. An existing ``.partial`` (another batch's, or a
    killed one's) is never reused: the next free ``<name>.<n>.partial`` is taken."""

    def __init__(self, path: Path):
        self.path = _target(Path(path))
        if _stream(self.path):
            self.partial = None
            self._file = open(self.path, "ab")
            return
        for n in range(1, 1000):
            suffix = ".partial" if n == 1 else f".{n}.partial"
            self.partial = self.path.with_name(self.path.name + suffix)
            try:
                fd = os.open(self.partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                             _file_mode(self.path))
                break
            except FileExistsError:
                continue
        else:
            raise FileExistsError(errno.EEXIST, "too many .partial files", str(self.partial))
        self._file = os.fdopen(fd, "wb")

    def write(self, data: bytes) -> None:
        self._file.write(data)
        self._file.flush()

    def finish(self) -> None:
        """Everything written: the partial file takes the final name (the old results stay
        until then). On failure the partial file stays, holding every row."""
        if self.partial is None:
            self._file.close()
            return
        try:
            os.fsync(self._file.fileno())
        finally:
            self._file.close()
        os.replace(self.partial, self.path)

    def abandon(self) -> None:
        """Stop without completing: what was written stays in the partial file."""
        self._file.close()
