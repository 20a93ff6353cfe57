"""The sidecar: round trip, atomic save, read-only fallback, and strict validation."""

import json
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from fetalview.core.measure.geometry import Ellipse
from fetalview.core.measure.pixelsize import PixelSize
from fetalview.core.record.sidecar import (MAX_BYTES, MAX_ITEMS, Annotation, SidecarError,
                                           alternate_path, fallback_path, identity_of, mismatch,
                                           read_sidecar, sidecar_path, to_json)
from fetalview.core.record.sidecar_store import SidecarStore, load_annotation, save_annotation

FULL = Annotation(
    scan="001_HC.png",
    ellipse=Ellipse(400.5, 270.25, 180.0, 140.0, 12.5),
    auto_ellipse=Ellipse(401.0, 271.0, 175.0, 138.0, 10.0),
    edited=True,
    model_version="resunet-abc123",
    confidence=0.93,
    pixel_size=PixelSize(0.12, "HC18 CSV"),
    frame=None,
    extra={"ga_weeks": 20.5},
)


@pytest.fixture
def scan(tmp_path):
    folder = tmp_path / "scans"
    folder.mkdir()
    path = folder / "001_HC.png"
    path.write_bytes(b"not really a png")
    return path


@pytest.fixture
def appdata(tmp_path):
    return tmp_path / "appdata"


def test_round_trip_beside_the_scan(scan, appdata):
    where = save_annotation(scan, FULL, appdata)
    assert where == sidecar_path(scan) == scan.with_name("001_HC.png.fetalview.json")
    loaded = load_annotation(scan, appdata)
    assert loaded.saved_at is not None
    assert loaded == Annotation(**{**FULL.__dict__, "saved_at": loaded.saved_at})
    assert not appdata.exists()


def test_file_follows_the_documented_schema(scan, appdata):
    data = json.loads(save_annotation(scan, FULL, appdata).read_text())
    assert data["format"] == "fetalview-sidecar" and data["version"] == 2
    assert set(data) == {"format", "version", "scan", "frame", "ellipse", "auto_ellipse",
                         "edited", "model_version", "confidence", "pixel_size", "extra",
                         "saved_at", "identity", "confirmed"}
    assert data["ellipse"] == {"cx": 400.5, "cy": 270.25, "a": 180.0, "b": 140.0,
                               "angle_deg": 12.5}
    assert data["pixel_size"] == {"mm_per_pixel": 0.12, "source": "HC18 CSV"}


def test_empty_annotation_round_trips(scan, appdata):
    save_annotation(scan, Annotation(scan=scan.name), appdata)
    loaded = load_annotation(scan, appdata)
    assert loaded.ellipse is None and loaded.pixel_size is None and not loaded.edited


def test_no_sidecar_is_none(scan, appdata):
    assert load_annotation(scan, appdata) is None


def test_save_leaves_no_temporary_files(scan, appdata):
    for _ in range(3):
        save_annotation(scan, FULL, appdata)
    assert sorted(p.name for p in scan.parent.iterdir()) == ["001_HC.png",
                                                             "001_HC.png.fetalview.json"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_saved_files_are_readable_like_any_other_file(scan, appdata):
    umask = os.umask(0o022)
    try:
        where = save_annotation(scan, FULL, appdata)
    finally:
        os.umask(umask)
    assert where.stat().st_mode & 0o777 == 0o644


def test_failed_write_keeps_the_previous_file(scan, appdata, monkeypatch):
    save_annotation(scan, FULL, appdata)
    before = sidecar_path(scan).read_bytes()

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(SidecarError, match="cannot save"):
        save_annotation(scan, Annotation(scan=scan.name), appdata)
    assert sidecar_path(scan).read_bytes() == before
    assert not [p for p in scan.parent.iterdir() if p.suffix == ".tmp"]


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="needs POSIX permissions and a non-root user")
def test_read_only_folder_falls_back_to_app_data_posix(scan, appdata):
    scan.parent.chmod(0o555)
    try:
        where = save_annotation(scan, FULL, appdata)
    finally:
        scan.parent.chmod(0o755)
    assert where == fallback_path(scan, appdata)


def _read_only_folder(scan, monkeypatch, writer: str) -> None:
    """The sidecar store's ``writer`` refuses the scan's folder, as in a read-only one (the
    test may run as root, which ignores permissions)."""
    import fetalview.core.record.sidecar_store as store
    real = getattr(store, writer)

    def refuse_beside_scan(path, data):
        if Path(path).parent == scan.parent:
            raise PermissionError(13, "Permission denied")
        real(path, data)

    monkeypatch.setattr(store, writer, refuse_beside_scan)


def test_unwritable_folder_falls_back_to_app_data(scan, appdata, monkeypatch):
    _read_only_folder(scan, monkeypatch, "write_atomic")
    where = save_annotation(scan, FULL, appdata)
    assert where.parent.parent == appdata and where.name == "001_HC.png.fetalview.json"
    assert load_annotation(scan, appdata).ellipse == FULL.ellipse


def test_fallback_keeps_same_names_in_different_folders_apart(tmp_path, appdata):
    a, b = tmp_path / "a" / "x.png", tmp_path / "b" / "x.png"
    assert fallback_path(a, appdata) != fallback_path(b, appdata)


def test_newest_copy_wins(scan, appdata, monkeypatch):
    import fetalview.core.record.sidecar_store as store
    save_annotation(scan, FULL, appdata)  # beside the scan, older
    newer = Annotation(scan=scan.name, ellipse=Ellipse(1, 2, 30, 20, 0), edited=True)
    real = store.write_atomic
    monkeypatch.setattr(store, "write_atomic", lambda p, d: (
        (_ for _ in ()).throw(PermissionError(13, "denied")) if Path(p).parent == scan.parent
        else real(p, d)))
    save_annotation(scan, newer, appdata)
    assert load_annotation(scan, appdata).ellipse == newer.ellipse


def test_damaged_copy_loses_to_a_valid_one(scan, appdata):
    fb = fallback_path(scan, appdata)
    fb.parent.mkdir(parents=True)
    fb.write_text("{ not json")
    save_annotation(scan, FULL, appdata)
    assert load_annotation(scan, appdata).ellipse == FULL.ellipse


def _write(scan, payload) -> None:
    sidecar_path(scan).write_text(payload if isinstance(payload, str) else json.dumps(payload))


def _valid(scan, appdata) -> dict:
    return json.loads(save_annotation(scan, FULL, appdata).read_text())


@pytest.mark.parametrize("change, message", [
    (lambda d: d.update(format="other"), "not a fetalview sidecar"),
    (lambda d: d.update(version=3), "version 3 is not supported"),
    (lambda d: d.pop("ellipse"), "missing field"),
    (lambda d: d.update(edited="yes"), "edited must be true or false"),
    (lambda d: d["ellipse"].pop("b"), "ellipse lacks b"),
    (lambda d: d["ellipse"].update(a="big"), "ellipse.a must be a finite number"),
    (lambda d: d["ellipse"].update(a=True), "ellipse.a must be a finite number"),
    (lambda d: d["auto_ellipse"].update(b=-3), "non-positive semi-axis"),
    (lambda d: d.update(confidence=1.5), "between 0 and 1"),
    (lambda d: d.update(pixel_size={"mm_per_pixel": 0.1}), "mm_per_pixel and source"),
    (lambda d: d.update(pixel_size={"mm_per_pixel": -1, "source": "x"}), "implausible"),
    (lambda d: d.update(frame=-1), "frame number"),
    (lambda d: d.update(extra=[]), "extra must be an object"),
    (lambda d: d.update(saved_at="yesterday"), "yesterday"),
    (lambda d: d.update(scan=3), "scan must be text"),
])
def test_invalid_fields_raise_a_clear_error(scan, appdata, change, message):
    data = _valid(scan, appdata)
    change(data)
    _write(scan, data)
    with pytest.raises(SidecarError, match=message) as info:
        load_annotation(scan, appdata)
    assert str(sidecar_path(scan)) in str(info.value)


@pytest.mark.parametrize("text", ["", "{ broken", "[1, 2]", "null", "\udcff",
                                  "[" * 100_000 + "]" * 100_000, '{"frame": ' + "9" * 5000 + "}"])
def test_damaged_files_raise_sidecar_error(scan, text):
    sidecar_path(scan).write_text(text, errors="surrogateescape")
    with pytest.raises(SidecarError):
        read_sidecar(sidecar_path(scan))


def test_unsaveable_extra_is_a_sidecar_error(scan, appdata):
    bad = Annotation(scan=scan.name, extra={"x": object()})
    with pytest.raises(SidecarError, match="cannot save"):
        save_annotation(scan, bad, appdata)
    assert not sidecar_path(scan).exists()


@pytest.mark.parametrize("ellipse, fits", [
    (Ellipse(400, 270, 200, 150, 0), True),
    (Ellipse(-300, 600, 900, 40, 30), True),  # a head cut by the frame still fits
    (Ellipse(-20000, 9000, 30000, 40, 30), True),  # as far as any drag at the lowest zoom
    (Ellipse(1e12, -1e12, 1e11, 1e-9, 0), False),
    (Ellipse(400, 270, 1e6, 150, 0), False),
    (Ellipse(400, 1e6, 200, 150, 0), False),
])
def test_a_contour_far_outside_the_scan_is_refused(ellipse, fits):
    from fetalview.core.record.sidecar import check_fits_scan
    annotation = Annotation(scan="x.png", auto_ellipse=ellipse)
    if fits:
        check_fits_scan(annotation, 800, 540)
    else:
        with pytest.raises(SidecarError, match="auto_ellipse lies far outside this 800x540"):
            check_fits_scan(annotation, 800, 540)


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL is POSIX")
def test_killed_while_saving_leaves_a_whole_sidecar(scan, appdata):
    """A process saving as fast as it can is killed at an arbitrary moment, several times:
    the sidecar is always one whole save (the first, or a later one), never a torn file."""
    import subprocess
    import sys
    import time
    child = f"""
import sys
from dataclasses import replace
sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})
from fetalview.core.measure.geometry import Ellipse
from fetalview.core.record.sidecar import Annotation
from fetalview.core.record.sidecar_store import save_annotation
scan, appdata = sys.argv[1], sys.argv[2]
base = Annotation(scan="001_HC.png", extra={{"padding": "x" * 200000}})
i = 0
while True:
    i += 1
    save_annotation(scan, replace(base, ellipse=Ellipse(100 + i, 100, 50, 40, 0)), appdata)
    if i == 1:
        print("first", flush=True)
"""
    for delay in (0.01, 0.03, 0.06, 0.1, 0.15, 0.2, 0.25, 0.3):
        proc = subprocess.Popen([sys.executable, "-c", child, str(scan), str(appdata)],
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline() == "first\n"
        time.sleep(delay)
        proc.kill()
        proc.wait(10)
        saved = read_sidecar(sidecar_path(scan))  # raises on a torn file
        assert saved.ellipse.cx >= 101 and len(saved.extra["padding"]) == 200000
    leftovers = [p for p in scan.parent.iterdir() if p.name.endswith(".tmp")]
    assert len(leftovers) <= 8  # a kill between write and rename may leave its temporary


# --- what this version must not write over, and whose pixels an annotation is of ------------

def test_a_sidecar_of_a_newer_version_is_kept_and_saves_go_beside_it(scan, appdata):
    newer = json.dumps({"format": "fetalview-sidecar", "version": 3, "scan": scan.name})
    sidecar_path(scan).write_text(newer)
    store = SidecarStore(scan, appdata)
    assert store.newest() is None and "version 3 is not supported" in str(store.kept[0].error)
    assert store.save(FULL).path == alternate_path(scan)
    assert sidecar_path(scan).read_text() == newer
    assert load_annotation(scan, appdata).ellipse == FULL.ellipse  # found again on reopening


def test_unknown_fields_round_trip(scan, appdata):
    data = {**to_json(FULL), "review": {"state": "signed"}, "extra": {"ga_weeks": 20.5}}
    sidecar_path(scan).write_text(json.dumps(data))
    loaded = load_annotation(scan, appdata)
    assert loaded.unknown == {"review": {"state": "signed"}}
    save_annotation(scan, replace(loaded, edited=False), appdata)
    assert json.loads(sidecar_path(scan).read_text())["review"] == {"state": "signed"}


def test_a_version_1_sidecar_loads_and_gains_an_identity_at_its_next_save(scan, appdata):
    data = to_json(FULL)
    del data["identity"]
    sidecar_path(scan).write_text(json.dumps({**data, "version": 1}))
    loaded = load_annotation(scan, appdata)
    assert loaded.ellipse == FULL.ellipse and loaded.identity is None
    identity = identity_of(np.zeros((540, 800), np.uint8))
    assert mismatch(loaded, identity, scan.name) is None  # it names this scan and fits it
    assert "saved for '001_HC.png'" in mismatch(loaded, identity, "other.png")
    save_annotation(scan, replace(loaded, identity=identity), appdata)
    saved = json.loads(sidecar_path(scan).read_text())
    assert saved["version"] == 2 and saved["identity"]["sha256"] == identity.sha256


def test_identity_tells_other_pixels_size_and_frame_apart():
    pixels = np.zeros((540, 800), np.uint8)
    same = Annotation(scan="a.png", identity=identity_of(pixels))
    assert mismatch(same, identity_of(pixels.copy()), "renamed.png") is None
    changed = pixels.copy()
    changed[10, 10] = 1
    assert "other pixels" in mismatch(same, identity_of(changed), "a.png")
    assert "800x540 image, this scan is 540x800" in mismatch(same, identity_of(pixels.T), "a.png")
    assert "frame 0, not of frame 2" in mismatch(same, identity_of(pixels, 2), "a.png")


def test_set_aside_renames_never_deletes(scan, appdata):
    save_annotation(scan, FULL, appdata)
    original = sidecar_path(scan).read_bytes()
    store = SidecarStore(scan, appdata)
    aside = store.set_aside(store.newest(), "other-scan")
    assert aside.read_bytes() == original and not sidecar_path(scan).exists()
    assert aside.name.startswith("001_HC.png.fetalview.other-scan-")
    assert load_annotation(scan, appdata) is None  # no longer taken for this scan's


def test_two_programs_editing_one_scan_merge_instead_of_dropping(scan, appdata):
    save_annotation(scan, FULL, appdata)
    first, second = SidecarStore(scan, appdata), SidecarStore(scan, appdata)
    base = first.newest().annotation
    first.save(replace(base, pixel_size=PixelSize(0.2, "calibrated")))
    moved = Ellipse(300, 200, 100, 90, 0)
    saved = second.save(replace(base, ellipse=moved))
    assert "merged" in saved.note
    on_disk = load_annotation(scan, appdata)
    assert on_disk.ellipse == moved and on_disk.pixel_size == PixelSize(0.2, "calibrated")
    assert saved.annotation.pixel_size == PixelSize(0.2, "calibrated")
    third = second.save(replace(saved.annotation, edited=False))  # no change since: no note
    assert third.note is None


def test_both_changing_the_same_field_keeps_the_other_copy(scan, appdata):
    save_annotation(scan, FULL, appdata)
    first, second = SidecarStore(scan, appdata), SidecarStore(scan, appdata)
    base = first.newest().annotation
    first.save(replace(base, pixel_size=PixelSize(0.2, "calibrated")))
    theirs = sidecar_path(scan).read_bytes()
    saved = second.save(replace(base, pixel_size=PixelSize(0.3, "typed by user")))
    assert "both changed pixel_size" in saved.note
    aside, = scan.parent.glob("001_HC.png.fetalview.other-copy-*.json")
    assert aside.read_bytes() == theirs and aside.name in saved.note
    assert load_annotation(scan, appdata).pixel_size.mm_per_pixel == 0.3


def test_a_sidecar_created_meanwhile_is_merged_not_replaced(scan, appdata):
    first, second = SidecarStore(scan, appdata), SidecarStore(scan, appdata)  # none yet
    first.save(replace(FULL, pixel_size=PixelSize(0.2, "calibrated"), ellipse=None))
    saved = second.save(replace(FULL, pixel_size=None))
    assert saved.annotation.pixel_size == PixelSize(0.2, "calibrated")
    assert saved.annotation.ellipse == FULL.ellipse


def test_a_200_mb_sidecar_is_refused_unread(scan):
    with open(sidecar_path(scan), "wb") as f:
        f.write(b'{"format": "fetalview-sidecar", "extra": [0')
        f.truncate(200 * 2**20)
    with pytest.raises(SidecarError, match="larger than 4 MB"):
        read_sidecar(sidecar_path(scan))


def test_a_list_over_the_item_cap_is_refused(scan, appdata):
    data = to_json(replace(FULL, extra={"points": [0] * (MAX_ITEMS + 1)}))
    sidecar_path(scan).write_text(json.dumps(data))
    assert sidecar_path(scan).stat().st_size < MAX_BYTES
    with pytest.raises(SidecarError, match="a list of 50001 items"):
        read_sidecar(sidecar_path(scan))


def test_a_sidecar_turned_unreadable_meanwhile_is_kept_and_the_save_goes_beside(scan, appdata):
    store = SidecarStore(scan, appdata)
    store.save(FULL)
    newer = json.dumps({"format": "fetalview-sidecar", "version": 3, "scan": scan.name})
    sidecar_path(scan).write_text(newer)  # a newer fetalview saved it meanwhile
    saved = store.save(replace(FULL, edited=False))
    assert saved.path == alternate_path(scan) and "cannot read; it is kept" in saved.note
    assert sidecar_path(scan).read_text() == newer


@pytest.mark.skipif(os.name != "posix", reason="named pipes")
def test_a_pipe_named_like_a_sidecar_is_left_alone(scan, appdata):
    """Opening a pipe waits for its other end: reading or writing it froze the app. It is
    neither read nor written; the measurement is saved beside it."""
    os.mkfifo(sidecar_path(scan))
    reader = os.open(sidecar_path(scan), os.O_RDONLY | os.O_NONBLOCK)  # a write would not wait
    try:
        store = SidecarStore(scan, appdata)
        assert "not a regular file" in str(store.kept[0].error)
        assert store.save(FULL).path == alternate_path(scan)
        assert os.read(reader, 100) == b""  # nothing went into the pipe
    finally:
        os.close(reader)


def test_a_sidecar_linked_to_the_scan_never_writes_over_the_scan(scan, appdata):
    scan_bytes = scan.read_bytes()
    sidecar_path(scan).symlink_to(scan.name)
    assert save_annotation(scan, FULL, appdata) == alternate_path(scan)
    assert scan.read_bytes() == scan_bytes
    sidecar_path(scan).unlink()
    sidecar_path(scan).symlink_to("nowhere.json")  # a link to nothing is not followed either
    assert save_annotation(scan, FULL, appdata) == alternate_path(scan)
    assert not (scan.parent / "nowhere.json").exists()


def test_an_automatic_result_is_saved_only_where_the_scan_has_no_sidecar(scan, appdata):
    """``save_new`` (the folder's background results) never replaces a person's save, even
    one made after its store read the places; nor writes beside a file it must keep."""
    auto = replace(FULL, edited=False)
    store = SidecarStore(scan, appdata)  # nothing saved yet
    save_annotation(scan, FULL, appdata)  # a person saves meanwhile
    before = sidecar_path(scan).read_bytes()
    assert store.save_new(auto) is None
    assert sidecar_path(scan).read_bytes() == before
    sidecar_path(scan).write_text("{damaged")
    assert SidecarStore(scan, appdata).save_new(auto) is None
    assert not alternate_path(scan).exists() and not appdata.exists()
    sidecar_path(scan).unlink()
    saved = SidecarStore(scan, appdata, automatic_beside=True).save_new(auto)
    assert saved.path == sidecar_path(scan) and load_annotation(scan, appdata) == saved.annotation


def test_an_automatic_result_of_a_scan_in_a_read_only_folder_goes_to_app_data(scan, appdata,
                                                                              monkeypatch):
    _read_only_folder(scan, monkeypatch, "create_atomic")
    store = SidecarStore(scan, appdata, automatic_beside=True)
    assert store.save_new(FULL).path == fallback_path(scan, appdata)
    assert SidecarStore(scan, appdata).save_new(FULL) is None  # saved there now


@pytest.mark.parametrize("hard_links", [True, False])
def test_create_atomic_never_replaces_a_file_made_while_it_wrote(tmp_path, monkeypatch,
                                                                 hard_links):
    """Another writer creates the name after the first check, while the data is flushed: the
    other's file stands and FileExistsError says so; no temporary file is left. Without hard
    links (FAT, some shares) the name is checked again just before the rename."""
    from fetalview.core.io import outputs
    target = tmp_path / "x.json"
    real_copy = outputs._flushed_copy

    def another_writer_meanwhile(path, data):
        tmp = real_copy(path, data)
        target.write_bytes(b"theirs")
        return tmp

    if not hard_links:
        monkeypatch.setattr(os, "link", lambda src, dst: (_ for _ in ()).throw(
            PermissionError(1, "Operation not permitted")))
    outputs.create_atomic(tmp_path / "new.json", b"ours")
    assert (tmp_path / "new.json").read_bytes() == b"ours"
    monkeypatch.setattr(outputs, "_flushed_copy", another_writer_meanwhile)
    with pytest.raises(FileExistsError):
        outputs.create_atomic(target, b"ours")
    assert target.read_bytes() == b"theirs"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.json", "x.json"]
