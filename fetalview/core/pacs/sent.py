"""The record of what was sent to a PACS: which scan's result, when, to which node.

Kept in the app's data folder (one JSON file), not in the scan's sidecar: a send is not an
edit of the measurement (it has no place in its undo history) and the record must not itself
change the result it describes. It is honest about what was sent: each send names the
result's digest (``record.result.result_digest``, the one the SR's and SC's UIDs hang on), so
a result changed since reads "changed since sent" (``standing``), never "sent". The
annotation's fingerprint beside it spares reading the scan again while the annotation is the
one sent.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from fetalview.core.io.outputs import write_atomic
from fetalview.core.io.safetext import display_name
from fetalview.core.io.scans import Scan, load_scan
from fetalview.core.record.result import ScanResult, build_result, result_digest
from fetalview.core.record.review import local_time_text
from fetalview.core.record.sidecar import Annotation, check_belongs, to_json

log = logging.getLogger(__name__)
FILE_NAME = "pacs-sent.json"
SENT, CHANGED = "sent", "changed since sent"


def fingerprint(annotation: Annotation) -> str:
    """The annotation as a digest, but when it was saved (a save of the same is the same)."""
    fields = {k: v for k, v in to_json(annotation).items() if k != "saved_at"}
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=repr).encode()).hexdigest()


@dataclass(frozen=True)
class Send:
    """One send of one scan's result: to ``node`` (its words), at ``when`` (UTC, ISO 8601)."""

    node: str
    when: str
    digest: str  # the result's ``result_digest`` as sent
    annotation: str  # the ``fingerprint`` of the annotation it was built from
    organization: str = ""  # the clinic it was reported for (the digest covers it too)

    @property
    def when_text(self) -> str:
        return local_time_text(datetime.fromisoformat(self.when))


def standing(send: Send, digest: str) -> str:
    """SENT while ``digest`` (the result's now) is the one sent, else CHANGED."""
    return SENT if digest == send.digest else CHANGED


class SentLog:
    """The sends of every scan, by its absolute path; the latest send of each is kept."""

    def __init__(self, folder: Path):
        self.path = Path(folder) / FILE_NAME
        self._sends: dict[str, Send] | None = None

    @property
    def sends(self) -> dict[str, Send]:
        if self._sends is None:
            self._sends = self._read()
        return self._sends

    def _read(self) -> dict[str, Send]:
        """What the file holds; a file this version cannot read is said in the log and left
        for a person (it is replaced only at the next send)."""
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            return {key: Send(**value) for key, value in raw.items()}
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            log.warning("cannot read the record of PACS sends %s: %s", self.path, exc)
            return {}

    def latest(self, scan: Path) -> Send | None:
        return self.sends.get(_key(scan))

    def add(self, scan: Path, node: str, digest: str, annotation: str, organization: str = "",
            when: datetime | None = None) -> Send:
        """Record a send that went well, and save the record (raises OSError if it cannot)."""
        send = Send(node, (when or datetime.now(timezone.utc)).isoformat(), digest, annotation,
                    organization)
        self.sends[_key(scan)] = send
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.path, json.dumps({k: asdict(v) for k, v in self.sends.items()},
                                           indent=1).encode())
        return send


def _key(scan: Path) -> str:
    """The scan's absolute path as text; a name that is not UTF-8 keeps its bytes (escaped)."""
    return str(Path(scan).absolute())


#: The app names its images (``make_results(named=...)``): the digest of a send says so too.
NAMED_IMAGES = True


def result_to_send(path: Path, annotation: Annotation) -> tuple[Scan, ScanResult]:
    """The scan (read from disk) and the record a send of ``annotation`` reports; raises
    when the scan cannot be read or the annotation is not of its pixels."""
    scan = load_scan(path, annotation.frame or 0)
    check_belongs(annotation, path.name, scan.pixels, annotation.frame or 0)
    return scan, build_result(display_name(path), annotation, scan.pixels,
                              frame_count=scan.metadata.get("frames", 1))


def digest_now(path: Path, annotation: Annotation, organization: str) -> str:
    """The digest a send of ``annotation`` would name now (``result_digest``)."""
    return result_digest(result_to_send(path, annotation)[1], organization, NAMED_IMAGES)
