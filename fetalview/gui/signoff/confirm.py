"""Signing a scan off as shown: the contour and the BPD the panel shows, in its convention.

A confirmation covers what the clinician saw. Where the BPD shown is an outer-to-inner pair
still only suggested, Space (or Return) confirms that pair with the scan, in the same undo step,
and the message says so: the scan is never "confirmed unchanged" with a BPD left unconfirmed,
and the report carries the BPD that was on the screen. A scan confirmed in one convention keeps
that BPD after the settings change to the other (``core.record.result``); Confirm BPD calipers
(B) on it confirms the pair now shown and signs the scan again, by whoever presses it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

from fetalview.core.io.safetext import display_name
from fetalview.core.measure.biometry import OUTER_INNER
from fetalview.core.record.calipers import bpd_pair, with_bpd_pair
from fetalview.core.record.model_result import review_needed
from fetalview.core.record.review import sign_off, standing_signoff
from fetalview.core.record.sidecar import Annotation

FLAGGED_QUESTION = ("The model flagged this contour for review ({reasons}). Confirm it as it "
                    "is?")
NO_PAIR = ("The skull's edges could not be found on the short axis: drag the BPD calipers onto "
           "them first.")


def _signed(session, annotation: Annotation, operator: str) -> tuple[Annotation, str]:
    """``annotation`` confirmed by ``operator`` with the figures the panel shows for it (a
    suggested outer-to-inner pair confirmed with it), and what the user is told."""
    d = session.current
    pair, _ = bpd_pair(annotation, d.scan.pixels)
    shown = d.result(session.settings.bpd_convention,  # as shown once the old one is gone
                     replace(annotation, confirmed=None)).measurement
    extra, with_pair = annotation.extra, ""
    if shown.bpd_convention == OUTER_INNER:
        extra = with_bpd_pair(annotation.extra, pair, True)
        with_pair = "" if shown.bpd_confirmed else ", the suggested BPD calipers confirmed with it"
    signoff = sign_off(operator, annotation.ellipse, annotation.auto_ellipse,
                       annotation.pixel_size, annotation.model_version, shown=shown,
                       bpd_ends=pair.ends() if shown.bpd_convention == OUTER_INNER else None)
    words = f"{display_name(d.path)}: {signoff.words()} ({signoff.bpd_text}{with_pair})"
    return replace(annotation, extra=extra, confirmed=signoff), words


def sign_off_shown(session, operator: str) -> bool:
    """Confirm the shown scan as ``operator``, as one undoable step; True when the scan is
    confirmed afterwards. A flagged automatic contour is confirmed only after a yes."""
    d = session.current
    if d is None:
        return False
    a = d.annotation
    if a.ellipse is None:
        session.error.emit("There is no contour to confirm yet: run the model (R) or draw it "
                           "by hand (M).")
        return False
    if standing_signoff(a) is not None:
        return True
    reasons = review_needed(a)
    if reasons and not session.confirm(FLAGGED_QUESTION.format(reasons=", ".join(reasons))):
        return False
    session.forget_request()  # a model result arriving now must not replace what was signed
    signed, words = _signed(session, a, operator)
    d.push(signed, "Confirm the contour")
    session.info.emit(words)
    session.signed_off.emit(d.path)
    return True


def confirm_bpd(session, operator: Callable[[], str | None]) -> None:
    """Confirm the outer-to-inner pair shown; on a scan confirmed with another BPD, sign it
    again with this one (``operator`` asked only then)."""
    d = session.current
    if d is None or d.annotation.ellipse is None:
        return
    a = d.annotation
    pair, confirmed = bpd_pair(a, d.scan.pixels)
    signoff = standing_signoff(a)
    if pair is None:
        session.error.emit(NO_PAIR)
    elif signoff is not None and signoff.bpd_convention != OUTER_INNER:
        name = operator()
        if name:
            signed, words = _signed(session, replace(a, extra=with_bpd_pair(a.extra, pair, True)),
                                    name)
            d.push(signed, "Confirm the BPD calipers")
            session.info.emit(words)
            session.signed_off.emit(d.path)
    elif not confirmed:
        d.push(replace(a, extra=with_bpd_pair(a.extra, pair, True)), "Confirm the BPD calipers")
