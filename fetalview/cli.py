"""Command line: ``fetalview [SCAN|FOLDER...]`` opens the app; ``fetalview measure`` is headless;
``fetalview orthanc-config`` prints the Orthanc configuration that measures on arrival."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fetalview.app_args import add_version, app_parser
from fetalview.qt_platform import missing_for_xcb, missing_message, uses_xcb
from fetalview.core.io.safetext import csv_table, printable


def _measure_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="fetalview measure",
        description="Segment the fetal head and measure HC, BPD and OFD on many scans.")
    add_version(p)
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="scans or folders of scans")
    p.add_argument("--pixel-size-csv", type=Path, metavar="FILE",
                   help="HC18-style CSV: filename, pixel size(mm), ...")
    p.add_argument("--pixel-size", type=float, metavar="MM",
                   help="one pixel size in mm for every scan")
    p.add_argument("--out", type=Path, metavar="FILE.csv",
                   help="results CSV, grown row by row in FILE.csv.partial (default: stdout)")
    p.add_argument("--masks", type=Path, metavar="DIR",
                   help="write head masks (0/255 PNG) as SCAN_fetalview_mask.png")
    p.add_argument("--overlays", type=Path, metavar="DIR",
                   help="write annotated PNGs as SCAN_fetalview_overlay.png")
    p.add_argument("--hc18-submission", type=Path, metavar="FILE",
                   help="write the HC18 challenge's submission CSV")
    p.add_argument("--reports", type=Path, metavar="DIR",
                   help="write a PDF report per scan (the scan and its figures, then its "
                        "growth chart) as SCAN_fetalview_report.pdf")
    p.add_argument("--report-patient-fields", action="store_true",
                   help="put the patient and study fields from DICOM (name, ID, birth date, "
                        "exam date, facility, operator) into the reports")
    p.add_argument("--dicom-out", type=Path, metavar="DIR",
                   help="write NAME_SR.dcm (DICOM Structured Report, OB-GYN TID 5000) and "
                        "NAME_SC.dcm (annotated image) per scan measured in mm, in the scan's "
                        "own DICOM study (a new study for PNG/JPEG scans)")
    p.add_argument("--send", type=_pacs_node, metavar="AET@HOST:PORT",
                   help="send each scan's SR and image to this PACS by C-STORE (needs "
                        "--dicom-out); a scan not sent is reported and the batch goes on")
    p.add_argument("--patient-id", metavar="ID",
                   help="patient ID of the PNG/JPEG scans of this run, for the new study of their "
                        "DICOM results (DICOM scans keep their own); without it their results "
                        "are written but not sent")
    p.add_argument("--patient-name", metavar="FAMILY^GIVEN",
                   help="patient name of the PNG/JPEG scans of this run (with --patient-id)")
    p.add_argument("--edd", type=_edd, metavar="YYYY-MM-DD",
                   help="the pregnancy's estimated date of delivery, for one patient's scans: "
                        "each scan's gestational age follows from its own exam date (DICOM); "
                        "a scan without one is said so in its row; with --reports, each report "
                        "carries the patient's scans up to its date (written after every scan "
                        "is measured)")
    p.add_argument("--calling-aet", default="FETALVIEW", metavar="AET",
                   help="fetalview's own AE title toward the PACS (default FETALVIEW)")
    p.add_argument("--allow-burned-in", action="store_true",
                   help="also write overlays and reports of DICOM scans whose pixels hold "
                        "patient details (Burned In Annotation YES); without it they are "
                        "measured but no image of them is written")
    p.add_argument("--frame", type=int, default=0, metavar="N",
                   help="frame of DICOM cine loops to measure (default 0, the first)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                   help="where the model runs: auto (a CUDA GPU when torch finds one, else "
                        "the CPU), cpu or cuda (default auto)")
    p.add_argument("--weights", type=Path, metavar="FILE", help="default: the bundled weights")
    p.add_argument("--tta", action="store_true",
                   help="also segment the mirror image and average (slower, see the model card)")
    return p


def _edd(text: str) -> str:
    from fetalview.core.measure.growth import parse_date
    try:
        return parse_date(text, "EDD").isoformat()
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _pacs_node(text: str):
    from fetalview.core.pacs.node import PacsNode
    try:
        return PacsNode.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


class _Sender:
    """``--send``: stores each scan's SR and image as soon as they are written, and says on
    standard error which scans did not reach the PACS and why. After the node itself failed
    (nothing listening, no answer in time), it is not tried again in this run: each further
    scan would only wait as long again."""

    def __init__(self, node, calling_aet: str, **deadlines):
        self.node, self.calling_aet, self.deadlines = node, calling_aet, deadlines
        self.sent: list[str] = []
        self.failed: list[str] = []
        self.not_tried: list[str] = []
        self.given_up = False

    def __call__(self, name: str, paths: list[Path]) -> None:
        from fetalview.core.pacs.client import PacsError, PacsUnreachable, store
        if self.given_up:
            self.not_tried.append(name)
            return
        try:
            store(self.node, paths, self.calling_aet, **self.deadlines)
        except (PacsError, OSError, ValueError) as exc:
            self.failed.append(name)
            print(f"fetalview: {printable(name)}: not sent: {printable(str(exc))}",
                  file=sys.stderr)
            if isinstance(exc, PacsUnreachable):
                self.given_up = True
                print(f"fetalview: {self.node} is not tried again in this run: the results of "
                      "the scans after this one are written but not sent", file=sys.stderr)
        else:
            self.sent.append(name)

    def summary(self) -> str:
        return (f"fetalview: results of {len(self.sent)} scans sent to {self.node}"
                + (f"; {len(self.failed)} not sent (see above)" if self.failed else "")
                + (f"; {len(self.not_tried)} not tried after {self.node} failed"
                   if self.not_tried else ""))


def measure_main(argv: list[str]) -> int:
    parser = _measure_parser()
    args = parser.parse_args(argv)
    if args.send and not args.dicom_out:
        parser.error("--send needs --dicom-out (the folder that keeps what was sent)")
    if (args.patient_id or args.patient_name) and not args.dicom_out:
        parser.error("--patient-id and --patient-name are for --dicom-out")
    if args.patient_name and not (args.patient_id or "").strip():
        parser.error("--patient-name needs --patient-id")
    from fetalview.core.results.dicom_values import DicomValueError, person_name, text
    try:  # refused before any work: DICOM could not hold them as typed (P\1 is two IDs)
        text("LO", args.patient_id or "", "--patient-id")
        person_name(args.patient_name or "", "--patient-name")
    except DicomValueError as exc:
        parser.error(printable(str(exc)))
    from fetalview.core.pacs.node import check_ae_title
    try:
        calling_aet = check_ae_title(args.calling_aet)
    except ValueError as exc:
        parser.error(f"--calling-aet: {exc}")
    from fetalview.core.batch import (CSV_COLUMNS, NOT_WRITTEN, OutputError, Outputs,
                                      PixelSizeBook, echo_csv, measure_batch, pixels_only,
                                      plan_batch)
    from fetalview.core.io.outputs import OutputRefused
    from fetalview.core.model.segmenter import Segmenter
    from fetalview.core.model.card import WeightsError

    if args.frame < 0:
        print("fetalview: --frame counts from 0", file=sys.stderr)
        return 2
    sender = _Sender(args.send, calling_aet) if args.send else None
    outputs = Outputs(args.out, args.masks, args.overlays, args.hc18_submission, args.reports,
                      _report_writer(args.report_patient_fields) if args.reports else None,
                      args.dicom_out, sender, args.allow_burned_in,
                      {"patient_name": args.patient_name or "", "patient_id": args.patient_id}
                      if args.patient_id else None,
                      {"method": "edd", "edd": args.edd} if args.edd else None)
    try:
        book = PixelSizeBook(args.pixel_size, args.pixel_size_csv)
        batch = plan_batch(args.paths, book, outputs)  # refuses a clash before any work
        segmenter = Segmenter(args.weights, device=args.device, tta=args.tta)
    except OutputRefused as exc:
        print(f"fetalview: {printable(str(exc))}; nothing was done", file=sys.stderr)
        return 2
    except (WeightsError, ValueError, RuntimeError, OSError) as exc:
        print(f"fetalview: {printable(str(exc))}", file=sys.stderr)
        return 2
    print(f"fetalview: model {segmenter.model_version} on {segmenter.device_label}",
          file=sys.stderr)
    if segmenter.fallback_reason:
        print(f"fetalview: {segmenter.fallback_reason}", file=sys.stderr)
    try:
        rows = measure_batch(batch, segmenter, args.frame,
                             echo=sys.stdout if args.out is None else None)
    except OutputError as exc:  # measured, but not saved: the results go to stdout instead
        print(f"fetalview: {printable(str(exc))}"
              + ("; the results follow on standard output" if exc.rows else ""), file=sys.stderr)
        echo_csv(sys.stdout, csv_table(CSV_COLUMNS, exc.rows))
        return 1 if exc.rows else 2
    unread = sum(r["status"].startswith("error") and not r["status"].startswith(NOT_WRITTEN)
                 for r in rows)
    unwritten = sum(r["status"].startswith(NOT_WRITTEN) for r in rows)
    in_pixels = sum(pixels_only(r) for r in rows)
    late = len(batch.reports_not_written)  # said above; their rows were written before
    measured = len(rows) - unread
    print(f"fetalview: {measured} of {len(rows)} scans measured"
          + (f", {unread} could not be read (see their status)" if unread else "")
          + (f"; {in_pixels} in pixels only, as no pixel size is known"
             + (", so they got no DICOM output" if args.dicom_out else "")
             if in_pixels else "")
          + (f"; for {unwritten} an output file (mask, overlay, report or DICOM) could not be "
             "written (see their status)" if unwritten else "")
          + (f"; {late} reports could not be written (see above)" if late else ""),
          file=sys.stderr)
    if sender is not None:
        print(sender.summary(), file=sys.stderr)
    # every output asked for was written (and sent), or the run failed
    sent_all = sender is None or not (sender.failed or sender.not_tried)
    return 0 if measured and not unwritten and not late and sent_all else 1


def _report_writer(with_patient_fields: bool):
    """The batch's report hook; Qt is imported only here, when reports were asked for."""
    from fetalview.core.io.outputs import write_outputs
    from fetalview.report.pdf import PATIENT_LABELS, report_pdf

    def write(path, scan, result):
        patient = ({k: scan.metadata[k] for k in PATIENT_LABELS if k in scan.metadata}
                   if with_patient_fields else {})
        write_outputs([(path, report_pdf(result, scan.pixels, patient))])
    return write


def _orthanc_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="fetalview orthanc-config",
        description="Print an Orthanc configuration (JSON) that measures every ultrasound image "
                    "stored into Orthanc as it arrives, with this fetalview: an automatic SR and "
                    "annotated image in the image's study. Run it with: Orthanc FILE.json")
    add_version(p)
    p.add_argument("--storage", type=Path, default=Path("orthanc-storage"), metavar="DIR",
                   help="where Orthanc keeps images and its index (default ./orthanc-storage)")
    p.add_argument("--dicom-port", type=int, default=4242, metavar="N",
                   help="DICOM port the scanners send to (default 4242)")
    p.add_argument("--http-port", type=int, default=8042, metavar="N",
                   help="Orthanc's REST API and web viewer, for this computer only (default 8042)")
    p.add_argument("--aet", default="FETALVIEW", metavar="AET",
                   help="Orthanc's AE title, the scanners' called AET (default FETALVIEW)")
    p.add_argument("--device", choices=["cpu", "cuda", "auto"], default="cpu",
                   help="where the model runs (default cpu)")
    p.add_argument("--forward", type=_pacs_node, metavar="AET@HOST:PORT",
                   help="also send each automatic SR and image to this PACS")
    p.add_argument("--no-annotated-image", action="store_true",
                   help="store the SR only, not the annotated image")
    p.add_argument("--plugin", type=Path, metavar="FILE",
                   help="Orthanc's Python plugin, libOrthancPython.so (default: where Debian's "
                        "orthanc-python puts it)")
    return p


def orthanc_config_main(argv: list[str]) -> int:
    import json
    from fetalview.core.pacs.node import check_ae_title
    from fetalview.orthanc.configuration import SECTION, orthanc_config, python_plugin
    parser = _orthanc_parser()
    args = parser.parse_args(argv)
    try:
        aet = check_ae_title(args.aet)
    except ValueError as exc:
        parser.error(f"--aet: {exc}")
    for option, port in (("--dicom-port", args.dicom_port), ("--http-port", args.http_port)):
        if not 0 < port < 65536:
            parser.error(f"{option}: {port} is not a port (1 to 65535)")
    plugin = args.plugin or python_plugin()
    if plugin is None or not plugin.is_file():
        where = f"is not at {plugin}" if plugin else "is not installed"
        print(f"fetalview: Orthanc's Python plugin {where} (Debian: apt-get install orthanc "
              "orthanc-python; else --plugin FILE)", file=sys.stderr)
        return 2
    forward = (args.forward.ae_title, args.forward.host, args.forward.port) \
        if args.forward else None
    config = orthanc_config(args.storage.resolve(), args.dicom_port, args.http_port, aet,
                            plugin, forward)
    config[SECTION]["Device"] = args.device
    config[SECTION]["StoreAnnotatedImage"] = not args.no_annotated_image
    print(json.dumps(config, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "measure":
        return measure_main(argv[1:])
    if argv and argv[0] == "orthanc-config":
        return orthanc_config_main(argv[1:])
    app_parser().parse_args(argv)  # --help and bad options end here, before Qt starts
    if uses_xcb():  # else Qt aborts, naming one library, and nothing more can be said
        missing = missing_for_xcb()
        if missing:
            print(missing_message(missing), file=sys.stderr)
            return 1
    from fetalview.gui.app import run_app
    return run_app(argv)
