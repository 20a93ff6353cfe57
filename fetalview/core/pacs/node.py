"""A PACS's address, the AE titles fetalview uses and the UIDs it takes from the network,
checked without pynetdicom.

``fetalview measure`` checks ``--calling-aet`` on every run and the app reads its PACS
settings at start-up; importing pynetdicom for that would cost seconds each time, so these
checks live here and ``pacs`` (the networking) is imported only when the PACS is used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_CALLING_AET = "FETALVIEW"
#: PS3.5 6.2 (AE): 1 to 16 characters of the default repertoire, no backslash, no control
#: characters; leading and trailing spaces are not significant, so all spaces is no title.
_AE_TITLE = re.compile(r"^[\x20-\x5b\x5d-\x7e]{1,16}$")


def check_ae_title(title: str) -> str:
    title = title.strip()
    if not _AE_TITLE.match(title):
        raise ValueError(f"{title!r} is not an AE title (1 to 16 characters, no backslash or "
                         "control characters)")
    return title


@dataclass(frozen=True)
class PacsNode:
    """Where the PACS listens: its AE title, host and port."""

    ae_title: str
    host: str
    port: int

    def __post_init__(self):
        object.__setattr__(self, "ae_title", check_ae_title(self.ae_title))
        if not self.host.strip():
            raise ValueError("the PACS host is empty")
        if not 0 < int(self.port) < 65536:
            raise ValueError(f"port {self.port} is not between 1 and 65535")

    @classmethod
    def parse(cls, text: str) -> PacsNode:
        """``AET@HOST:PORT``, e.g. ``ORTHANC@127.0.0.1:4242`` (an IPv6 host in brackets)."""
        m = re.match(r"^([^@]+)@\[?([^\[\]]+?)\]?:(\d+)$", text.strip())
        if not m:
            raise ValueError(f"{text!r} is not AET@HOST:PORT (e.g. ORTHANC@10.0.0.5:4242)")
        return cls(m.group(1), m.group(2), int(m.group(3)))

    def __str__(self) -> str:
        return f"{self.ae_title}@{self.host}:{self.port}"


#: PS3.5 9.1: components of digits separated by dots, no component with a leading zero.
_UID = re.compile(r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$")


def is_uid(text: str) -> bool:
    """A valid DICOM UID (at most 64 characters): safe to name a folder or a file, since
    it can never be ``.`` or ``..``, hold a separator, or equal another UID's name."""
    return len(text) <= 64 and bool(_UID.match(text))
