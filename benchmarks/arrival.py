"""Measure on arrival under a burst: Orthanc with fetalview's plugin (as ``fetalview
orthanc-config`` sets it up) on loopback, N scans sent in one association as a scanner
would, and the queue watched until the last SR is stored.

    python -m benchmarks.arrival [FOLDER] [--count 100] [--device cpu]

FOLDER holds HC18-style PNGs with a ``*pixel_size*.csv`` beside it (default
../shared/data/hc18/test_set); each is sent as an ultrasound DICOM with its pixel size.
Reported: how long the C-STORE of the burst took, C-ECHO round trips meanwhile, the time from
the first image sent until the worker had done the first and the last scan (an SR stored, or
none, and the log saying why), images measured per second once the model is loaded (first to
last), then, on the same files, ``fetalview measure
--dicom-out`` in this process for comparison (the same work without Orthanc).
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import cv2
import pydicom
from pydicom.uid import generate_uid

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from dicomfiles import make_dicom  # noqa: E402
from orthancserver import ORTHANC, free_port  # noqa: E402

from fetalview.cli import main as fetalview  # noqa: E402
from fetalview.core.pacs.client import PacsError, PacsNode, echo, store  # noqa: E402
from fetalview.orthanc.configuration import orthanc_config  # noqa: E402

SR_CLASS = "1.2.840.10008.5.1.4.1.1.88.33"


def make_scans(folder: Path, out: Path, count: int) -> list[Path]:
    """The first ``count`` scans of ``folder`` as ultrasound DICOMs of one patient."""
    table = next(folder.parent.glob(f"{folder.name}*pixel_size*.csv"), None) \
        or next(folder.glob("*pixel_size*.csv"))
    with open(table, newline="") as f:
        sizes = {row["filename"]: float(row["pixel size(mm)"]) for row in csv.DictReader(f)}
    out.mkdir()
    paths = []
    study = generate_uid()
    for name in sorted(sizes)[:count]:
        pixels = cv2.imread(str(folder / name), cv2.IMREAD_GRAYSCALE)
        path = make_dicom(out / (Path(name).stem + ".dcm"), pixels,
                          pixel_spacing=[sizes[name]] * 2)
        ds = pydicom.dcmread(path)
        ds.PatientID, ds.StudyInstanceUID = "BENCH", study
        ds.save_as(path)
        paths.append(path)
    return paths


def sr_count(url: str) -> int:
    request = urllib.request.Request(url + "/tools/find", json.dumps(
        {"Level": "Instance", "Query": {"PatientID": "BENCH", "SOPClassUID": SR_CLASS}}).encode())
    with urllib.request.urlopen(request, timeout=30) as answer:
        return len(json.loads(answer.read()))


def handled(log: Path) -> list[float]:
    """When (seconds since midnight, by the log's own clock: Orthanc writes its log in
    blocks) the worker was done with each scan, its own results left out: a scan the model
    doubts, or without a head, gets no SR and is done all the same."""
    times = []
    for line in log.read_text(errors="replace").splitlines():
        if "fetalview: instance " in line and "written by fetalview" not in line:
            clock = line.split()[1]  # W1205 12:38:46.814818 ...
            hours, minutes, seconds = clock.split(":")
            times.append(int(hours) * 3600 + int(minutes) * 60 + float(seconds))
    return times


def _clock() -> float:
    now = datetime.datetime.now()
    return now.hour * 3600 + now.minute * 60 + now.second + now.microsecond / 1e6


def run(folder: Path, count: int, device: str, keep_log: Path | None = None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        scans = make_scans(folder, tmp / "scans", count)
        config = orthanc_config(tmp / "db", free_port(), free_port(), "ORTHANC")
        config["Fetalview"]["Device"] = device
        (tmp / "orthanc.json").write_text(json.dumps(config))
        log = open(tmp / "orthanc.log", "wb")
        proc = subprocess.Popen([ORTHANC, str(tmp / "orthanc.json")], stdout=log,
                                stderr=subprocess.STDOUT)
        node = PacsNode("ORTHANC", "127.0.0.1", config["DicomPort"])
        url = f"http://127.0.0.1:{config['HttpPort']}"
        try:
            while "fetalview: model " not in (tmp / "orthanc.log").read_text(errors="replace"):
                if proc.poll() is not None:
                    sys.exit((tmp / "orthanc.log").read_text(errors="replace"))
                time.sleep(0.2)
            echoes, done = [], threading.Event()

            def keep_echoing():
                while not done.is_set():
                    start = time.monotonic()
                    try:
                        echo(node, timeout=10)
                        echoes.append(time.monotonic() - start)
                    except PacsError:
                        echoes.append(float("inf"))
                    time.sleep(0.2)
            echoing = threading.Thread(target=keep_echoing)
            echoing.start()
            start, sent = time.monotonic(), _clock()
            store(node, scans)
            stored = time.monotonic() - start
            while len(done_at := handled(tmp / "orthanc.log")) < count:
                time.sleep(0.2)
            first, last = done_at[0] - sent, done_at[-1] - sent
            srs = sr_count(url)
            done.set()
            echoing.join()
        finally:
            proc.terminate()
            proc.wait(30)
            log.close()
            if keep_log:
                keep_log.write_bytes((tmp / "orthanc.log").read_bytes())
        print(f"{count} scans sent in one association: C-STORE of the burst {stored:.1f} s; "
              f"C-ECHO during it: median {statistics.median(echoes) * 1000:.0f} ms, "
              f"max {max(echoes) * 1000:.0f} ms ({len(echoes)} echoes)")
        print(f"first scan done {first:.1f} s after the first image was sent, the last "
              f"{last:.1f} s; {(count - 1) / (last - first) if last > first else float('nan'):.2f}"
              f" images/s measured on arrival (first to last); {srs} SRs stored, "
              f"{count - srs} scans without one (the model doubted it, no head, ...)")
        start = time.monotonic()
        fetalview(["measure", str(tmp / "scans"), "--out", str(tmp / "r.csv"),
                   "--dicom-out", str(tmp / "out"), "--device", device])
        batch = time.monotonic() - start
        print(f"fetalview measure --dicom-out on the same files: {batch:.1f} s, "
              f"{count / batch:.2f} images/s (model load included)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folder", nargs="?", type=Path,
                   default=Path(__file__).resolve().parents[2] / "shared/data/hc18/test_set")
    p.add_argument("--count", type=int, default=100)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda", "auto"])
    p.add_argument("--log", type=Path, metavar="FILE", help="keep Orthanc's log there")
    args = p.parse_args()
    run(args.folder, args.count, args.device, args.log)


if __name__ == "__main__":
    main()
