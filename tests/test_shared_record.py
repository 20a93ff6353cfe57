"""A retrieved study's reports made its scans' saved results (core.pacs.shared_record): the
newest report stands, an older PACS result untouched here gives way to it, and work done on
this workstation is never overwritten."""

import datetime as dt
from dataclasses import replace

import cv2
import numpy as np
import pydicom

from dicomfiles import make_dicom, region
from fetalview.core.io.scans import load_scan
from fetalview.core.measure.geometry import Ellipse
from fetalview.core.pacs.retrieve import Retrieved
from fetalview.core.pacs.shared_record import take_in, with_report
from fetalview.core.record.result import build_result
from fetalview.core.record.review import sign_off
from fetalview.core.record.sidecar import Annotation
from fetalview.core.record.sidecar_store import SidecarStore, load_annotation
from fetalview.core.results.dicom_results import make_results
from fetalview.core.results.sr_reader import read_report

AUTO = Ellipse(200.0, 150.0, 120.0, 90.0, 20.0)


def _study(tmp_path):
    img = np.full((300, 400), 30, np.uint8)
    cv2.ellipse(img, (200, 150), (120, 90), 20, 0, 360, 220, 3)
    source = make_dicom(tmp_path / "src.dcm", img, regions=[region(0, 0, 399, 299, 0.05)])
    uid = pydicom.dcmread(source).SOPInstanceUID
    path = source.rename(tmp_path / f"{uid}.dcm")  # as retrieval names it
    return load_scan(path)


def _report(scan, annotation):
    result = build_result(scan.path.name, annotation, scan.pixels)
    return read_report(make_results(scan, result, organization="Clinic X").sr)


def _automatic_and_confirmed(scan):
    auto = _report(scan, Annotation(scan.path.name, ellipse=AUTO, auto_ellipse=AUTO,
                                    model_version="m-1", pixel_size=scan.pixel_size))
    shown = with_report(Annotation(scan.path.name), auto, auto, scan.pixel_size)
    when = dt.datetime(2026, 12, 5, 9, 0, tzinfo=dt.timezone.utc)
    confirmed = _report(scan, replace(shown, confirmed=sign_off(
        "Smith^Anna", shown.ellipse, shown.auto_ellipse, shown.pixel_size, "m-1", when)))
    return auto, confirmed


def test_the_newest_report_replaces_an_older_pacs_result_untouched_here(tmp_path):
    scan = _study(tmp_path)
    auto, confirmed = _automatic_and_confirmed(scan)
    data = tmp_path / "appdata"
    assert take_in(Retrieved(tmp_path, saved=[scan.path], reports=[auto]), data) == []
    assert load_annotation(scan.path, data).confirmed is None
    assert take_in(Retrieved(tmp_path, saved=[scan.path], reports=[confirmed, auto]), data) == []
    saved = load_annotation(scan.path, data)
    assert saved.confirmed.by == "Smith Anna" and saved.auto_ellipse is not None


def test_work_done_here_is_kept_and_the_newer_report_is_said(tmp_path):
    scan = _study(tmp_path)
    auto, confirmed = _automatic_and_confirmed(scan)
    data = tmp_path / "appdata"
    take_in(Retrieved(tmp_path, saved=[scan.path], reports=[auto]), data)
    mine = replace(load_annotation(scan.path, data), ellipse=Ellipse(201.0, 150.0, 110.0, 90.0,
                                                                     20.0), edited=True)
    SidecarStore(scan.path, data).save(mine)
    [note] = take_in(Retrieved(tmp_path, saved=[scan.path], reports=[auto, confirmed]), data)
    assert "newer report confirmed by Smith Anna" in note and "it is kept" in note
    assert load_annotation(scan.path, data).ellipse == mine.ellipse
