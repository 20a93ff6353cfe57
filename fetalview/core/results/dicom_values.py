"""The rules a value must meet to be written into the SR and SC fetalview sends (PS3.5 6.2, 9.1).

What leaves for a PACS is filed by its values: a patient ID cut at 64 characters by a PACS, a
name with a backslash read as two names, or a UID with letters can file a result under
another patient or be refused by the archive. Every value fetalview writes (copied from the
source DICOM, typed in the app or on the command line, the sign-off name, the clinic) passes
here first. A value that breaks its VR's rules is never repaired, since a repaired name or ID
may be someone else's: ``DicomValueError`` stops that scan's DICOM output and says why in
words. Callers decide which values are optional: those may be left out instead, and said.

Pure Python (no pydicom): the command line and the app check typed values with it at entry.
"""

from __future__ import annotations

import datetime as dt
import re

#: Maximum characters of a value (of one component group, for PN), PS3.5 table 6.2-1.
MAX_CHARS = {"PN": 64, "LO": 64, "SH": 16, "CS": 16, "UI": 64}
_UID = re.compile(r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*")
_CS = re.compile(r"[A-Z0-9 _]*")
_TM = re.compile(r"([01][0-9]|2[0-3])([0-5][0-9]([0-5][0-9](\.[0-9]{1,6})?)?)?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
#: Shown for the replacement character, which stands for bytes a decoder could not read.
_REPLACEMENT = "\ufffd"


class DicomValueError(ValueError):
    """A value that DICOM cannot hold as it is; the message says which and why, in words."""

    def __init__(self, what: str, value: str, why: str):
        super().__init__(f"no DICOM output: {what} {shown(value)} {why}")
        self.what, self.why = what, why


def shown(value: str, limit: int = 40) -> str:
    """``value`` quoted for a message: control characters escaped, a long one cut, with its
    length said, so a hostile value never reaches a terminal raw."""
    text = value if len(value) <= limit else f"{value[:limit]}... ({len(value)} characters)"
    return "'" + _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text) + "'"


def text(vr: str, value: str, what: str) -> str:
    """``value`` checked as a PN, LO or SH (one value, in UTF-8): no backslash, no control
    characters, no undecoded bytes, within the length. Leading and trailing spaces are not
    significant in these VRs and are dropped."""
    value = value.strip(" ")
    if "\\" in value:
        raise DicomValueError(what, value, "holds a backslash, which DICOM reads as a "
                              "separator between two values")
    if _REPLACEMENT in value:
        raise DicomValueError(what, value, "holds text that could not be decoded in its "
                              "declared character set (shown as \ufffd)")
    if _CONTROL.search(value):
        raise DicomValueError(what, value, "holds control characters (such as escape, NUL "
                              "or a line break), which this field may not hold")
    limit = MAX_CHARS[vr]
    parts = value.split("=") if vr == "PN" else [value]
    if vr == "PN" and (len(parts) > 3 or any(p.count("^") > 4 for p in parts)):
        raise DicomValueError(what, value, "is not a person name as DICOM writes it (at most "
                              "5 parts separated by ^, in at most 3 forms separated by =)")
    if any(len(p) > limit for p in parts):
        raise DicomValueError(what, value, f"is longer than the {limit} characters DICOM "
                              "allows; it is not cut, as a shortened value may be another's")
    return value


def person_name(value: str, what: str) -> str:
    return text("PN", value, what)


def uid(value: str, what: str) -> str:
    """A UID as PS3.5 9.1 writes it: digits in components separated by dots, no leading zero,
    at most 64 characters."""
    value = value.strip("\x00 ")
    if not _UID.fullmatch(value) or len(value) > MAX_CHARS["UI"]:
        raise DicomValueError(what, value, "is not a valid DICOM UID (digits and dots only, "
                              "no leading zeros, at most 64 characters)")
    return value


def date(value: str, what: str) -> str:
    """A DA: YYYYMMDD and a real day."""
    value = value.strip(" ")
    try:
        if len(value) != 8 or not value.isdigit():
            raise ValueError
        dt.datetime.strptime(value, "%Y%m%d")
    except ValueError:
        raise DicomValueError(what, value, "is not a date as DICOM writes it "
                              "(YYYYMMDD)") from None
    return value


def time(value: str, what: str) -> str:
    """A TM: HH, HHMM, HHMMSS or HHMMSS.FFFFFF."""
    value = value.strip(" ")
    if not _TM.fullmatch(value):
        raise DicomValueError(what, value, "is not a time as DICOM writes it (HHMMSS)")
    return value


def code(value: str, what: str, allowed: tuple[str, ...] | None = None) -> str:
    """A CS: capitals, digits, space and underscore, at most 16 characters; one of
    ``allowed`` when the attribute has enumerated values."""
    value = value.strip(" ")
    if not _CS.fullmatch(value) or len(value) > MAX_CHARS["CS"] or (
            allowed is not None and value not in allowed):
        expected = f"one of {', '.join(allowed)}" if allowed else "a DICOM code string"
        raise DicomValueError(what, value, f"is not {expected}")
    return value


#: The check for each VR that fetalview copies from a source DICOM.
CHECKS = {"PN": person_name, "LO": lambda v, w: text("LO", v, w),
          "SH": lambda v, w: text("SH", v, w), "DA": date, "TM": time, "UI": uid, "CS": code}
