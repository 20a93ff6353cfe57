"""File > Export list report (PDF): one PDF for every listed scan, each rendered from the same
record as its folder CSV row (figures, review state, who confirmed it), scans without a
measurement listed with the reason."""

import io
import re

from pypdf import PdfReader

from fetalview.core.measure.geometry import Ellipse
from fetalview.core.measure.pixelsize import PixelSize
from fetalview.core.record.result import build_result
from fetalview.core.record.sidecar import Annotation
from fetalview.report.list_pdf import ListedScan, list_report_pdf

from .conftest import open_and_wait, open_folder


def pdf_text(data: bytes) -> list[str]:
    """Each page's text with its spacing made plain (pypdf splits words with tabs)."""
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(data)).pages]


def plain(line: str) -> str:
    """Spacing made plain, and a line wrapped after a hyphen joined again ("outer- outer")."""
    return " ".join(line.split()).replace("- ", "-")


def test_the_list_report_holds_every_listed_scan_as_its_record_says(qtbot, window, scans,
                                                                     tmp_path):
    (scans / "broken_HC.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    open_and_wait(qtbot, window, scans / "050_HC.png")
    open_folder(qtbot, window, scans)
    window.session.go_to(scans / "249_HC.png")
    qtbot.waitUntil(lambda: window.session.current.annotation.ellipse is not None)
    assert window.session.sign_off("A. Jones")
    assert window.act_list_report.isEnabled()
    out = tmp_path / "list.pdf"
    with qtbot.waitSignal(window.csv_export.written, timeout=20000):
        assert window.export_list_report(out)
    text = plain(" ".join(pdf_text(out.read_bytes())))
    assert "3 scans, 1 confirmed, 1 not confirmed, 1 without a measurement" in text
    for name in ("050_HC.png", "249_HC.png"):
        _, annotation = window.session.known_result(scans / name)
        record = window.session.patients.listed_record(scans / name, annotation)
        for line in record.caption():  # the record's every line: figures, state, reviewer
            assert plain(line) in text, line
    assert "A. Jones" in text  # the confirmed scan's reviewer, from its state line above
    assert re.search(r"broken_HC\.png \S", text) and "unreadable" in text
    assert text.index("050_HC.png") < text.index("249_HC.png") < text.index("broken_HC.png")


def test_a_long_list_runs_over_pages_each_with_its_name_number_and_footer():
    e = Ellipse(200, 150, 90, 70, 10)
    record = build_result("x.png", Annotation("x.png", e, e, pixel_size=PixelSize(0.1, "typed"),
                                              model_version="m1", confidence=0.97), None)
    scans = [ListedScan(f"scan{i:03d}.png", record) for i in range(40)]
    pages = pdf_text(list_report_pdf(scans, "/data/day 1"))
    assert len(pages) > 1
    for number, page in enumerate(pages, 1):
        assert f"/data/day 1: page {number} of {len(pages)}" in page
        assert "Decision support only" in page
        assert page.count(".png") == page.count("model m1")  # no scan split over two pages
    text = " ".join(pages)
    assert [int(n) for n in re.findall(r"scan(\d{3})\.png", text)] == list(range(40))
