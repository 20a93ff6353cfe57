"""The PACS as the department's shared record: a retrieved study's reports become its scans'
results, so a sonographer sees what was measured on arrival or confirmed at another
workstation without the model running again.

For each retrieved image, the newest of fetalview's reports on it (``sr_reader.newest``: the
end of its predecessor chain) is written as the scan's saved annotation, as a model result is
(``with_report``): the report's ellipse as the contour, the automatic report's ellipse in the
chain as the model's own, the model version, a colleague's confirmation as the sign-off (who,
and when), and ``pacs_origin``'s note of which report it was, so a confirmation sent from here
names it as replaced. Other systems' HC/BPD/OFD of the image ride along, read-only.

Nothing a person did here is overwritten: a saved result is replaced only while it still is
what an earlier PACS report gave (``as_the_pacs_holds_it``); otherwise it is kept, and the
notes say that the PACS holds a newer report. Runs in the retrieval's background job.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

from fetalview.core.io.scans import ScanLoadError, load_scan
from fetalview.core.pacs.retrieve import Retrieved
from fetalview.core.record.pacs_origin import (OTHER_KEY, PACS_KEY, OtherValues,
                                               as_the_pacs_holds_it, origin_json, other_json)
from fetalview.core.record.review import sign_off
from fetalview.core.record.sidecar import Annotation, SidecarError, identity_of
from fetalview.core.record.sidecar_store import SidecarStore
from fetalview.core.results.sr_reader import StudyReport, newest


def model_report(report: StudyReport, by_uid: dict[str, StudyReport]) -> StudyReport | None:
    """The automatic (unverified) report in ``report``'s predecessor chain: the model's own
    contour, for "reset to model" and to tell a correction from a confirmation."""
    seen: set[str] = set()
    while report is not None and report.ref.sop_instance_uid not in seen:
        if not report.verified:
            return report
        seen.add(report.ref.sop_instance_uid)
        report = next((by_uid[u] for u in report.predecessors if u in by_uid), None)
    return None


def with_report(annotation: Annotation, report: StudyReport, model: StudyReport | None,
                pixel_size) -> Annotation:
    """``annotation`` holding fetalview's ``report`` read from the PACS: its contour, the
    model's (``model``: the automatic report it replaces, if any), and a colleague's
    confirmation, marked as coming from that report."""
    auto = model.ellipse if model is not None else None
    signoff = None
    if report.verified:
        signoff = replace(sign_off(report.verifier, report.ellipse, auto, pixel_size,
                                   report.model_version,
                                   now=report.verified_at or dt.datetime.now(dt.timezone.utc)),
                          corrected=report.edited)
    origin = origin_json(report.ref, report.source, report.ellipse,
                         signoff.by if signoff else None, signoff.at if signoff else None,
                         None if report.verified else report.review_flag)
    extra = {k: v for k, v in annotation.extra.items() if k != PACS_KEY}
    return replace(annotation, ellipse=report.ellipse, auto_ellipse=auto,
                   edited=report.edited,
                   model_version=report.model_version, confidence=None, pixel_size=pixel_size,
                   confirmed=signoff, extra={**extra, PACS_KEY: origin})


def _others(reports: list[StudyReport], uid: str) -> list[OtherValues]:
    """Other systems' figures for image ``uid`` (a report naming no image: for each)."""
    return [OtherValues(r.source, r.hc, r.bpd, r.ofd) for r in reports
            if not r.ours and r.image_uid in (uid, None)]


def take_in(got: Retrieved, data_dir: Path, automatic_beside: bool = False) -> list[str]:
    """Save each retrieved image's standing PACS result as its annotation (see the module's
    text); returns what the user should be told, in words."""
    by_uid = {r.ref.sop_instance_uid: r for r in got.reports}
    notes = [f"A report in the study could not be read ({why})." for why in got.unread]
    for path in got.saved:
        uid = path.stem  # retrieval names each image by its SOP Instance UID
        standing = newest(r for r in got.reports if r.ours and r.image_uid == uid)
        others = _others(got.reports, uid)
        if standing is None and not others:
            continue
        try:
            note = _take_one(path, standing, by_uid, others, data_dir, automatic_beside)
        except (ScanLoadError, SidecarError, OSError) as exc:
            note = f"{got.names.get(path, path.name)}: the PACS's result was not taken ({exc})."
        if note:
            notes.append(note)
    return notes


def _take_one(path: Path, standing: StudyReport | None, by_uid: dict[str, StudyReport],
              others: list[OtherValues], data_dir: Path, automatic_beside: bool) -> str | None:
    frame = standing.frame if standing is not None else 0
    scan = load_scan(path, frame=frame)
    fresh = Annotation(scan=path.name, frame=scan.metadata.get("frame"),
                       identity=identity_of(scan.pixels, scan.metadata.get("frame", 0)),
                       extra={OTHER_KEY: other_json(others)} if others else {})
    if standing is not None:
        pixel_size = scan.pixel_size_for(standing.ellipse, scan.pixel_size)
        fresh = with_report(fresh, standing, model_report(standing, by_uid), pixel_size)
    store = SidecarStore(path, data_dir, automatic_beside)
    found = store.newest()
    if found is None:
        store.save_new(fresh)
        return None
    saved = found.annotation
    if saved.extra.get(PACS_KEY) == fresh.extra.get(PACS_KEY) or standing is None:
        return None  # already the standing report's (or nothing of fetalview's to take)
    if saved.ellipse is None or as_the_pacs_holds_it(saved):
        store.save(fresh)  # an older report's result, untouched here: the newer one stands
        return None
    who = f" confirmed by {standing.verifier}" if standing.verified else ""
    return (f"{path.name}: the PACS holds a newer report{who}, but the measurement saved here "
            "holds work done on this workstation: it is kept, and shown.")
