"""Every output renders the one result record: a fact changed where the record is built is the
fact on screen, on the annotated image, in the PDF, in both CSVs and in the Structured Report.
If any output measured or worded it on its own, it would still show the true figure here."""

import csv
import re
import unicodedata
from dataclasses import replace

import pytest

import fetalview.core.record.result as result_module
import fetalview.core.results.overlay as overlay
from dicomcheck import num
from fetalview.cli import main
from fetalview.gui.pacs.features import results_of

from .conftest import open_and_wait

pypdf = pytest.importorskip("pypdf")

#: The planted head circumference: no scan of the sample folder measures this.
PLANTED_HC = 123.456


@pytest.fixture
def planted(monkeypatch):
    """The record builder's measurement says HC = PLANTED_HC, whatever the ellipse."""
    real = result_module.measure
    monkeypatch.setattr(result_module, "measure",
                        lambda *args, **kw: replace(real(*args, **kw), hc=PLANTED_HC))


def test_one_fact_changed_in_the_record_reaches_every_output(qtbot, window, scans, tmp_path,
                                                             planted, monkeypatch, capsys):
    scan = scans / "050_HC.png"
    captions = []
    real_render = overlay.render_overlay
    monkeypatch.setattr(overlay, "render_overlay", lambda pixels, e, lines, *rest, **kw: (
        captions.append(list(lines)), real_render(pixels, e, lines, *rest, **kw))[1])
    document = open_and_wait(qtbot, window, scan)

    # the panel
    assert window.panel.value_labels[0].text().startswith("HC  123.5 mm")
    # the annotated PNG
    assert window.export_png(tmp_path / "image.png")
    assert "HC  123.5 mm" in captions[-1]
    # the PDF report
    assert window.clinic.export_report(tmp_path / "report.pdf")
    page = pypdf.PdfReader(str(tmp_path / "report.pdf")).pages[0].extract_text()
    assert "HC 123.5 mm" in re.sub(r"\s+", " ", unicodedata.normalize("NFKC", page))
    # the app's CSV
    out = tmp_path / "app.csv"
    assert window.export_csv(out)
    qtbot.waitUntil(out.exists, timeout=20000)
    with open(out, newline="", encoding="utf-8") as f:
        rows = {r["filename"]: r for r in csv.DictReader(f)}
    assert rows["050_HC.png"]["hc_mm"] == "123.46"
    # the Structured Report (and the Secondary Capture's caption) sent to a PACS
    results = results_of(scan, document.annotation, "Clinic")
    assert num(results.sr, "11984-2")[0] == pytest.approx(PLANTED_HC, abs=0.005)
    assert "HC  123.5 mm" in captions[-1]
    # the batch command's CSV
    assert main(["measure", str(scan), "--device", "cpu"]) == 0
    row = next(csv.DictReader(capsys.readouterr().out.splitlines()))
    assert row["hc_mm"] == "123.46"
