"""Checks on written DICOM results: a real validator (dciodvfy) and a walk of an SR's tree."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

DCIODVFY = shutil.which("dciodvfy")


def dciodvfy_errors(path: Path) -> list[str]:
    """dciodvfy's error lines for ``path`` (warnings are left out); skips without dciodvfy."""
    if DCIODVFY is None:
        pytest.skip("dciodvfy is not installed (Debian package 'dicom3tools'; .ci/run installs it)")
    run = subprocess.run([DCIODVFY, str(path)], capture_output=True, text=True, timeout=60)
    return [line for line in (run.stdout + run.stderr).splitlines() if line.startswith("Error")]


def sr_items(ds):
    """Every content item of an SR, depth first, as (parents' concept codes, item)."""
    def walk(items, path):
        for item in items:
            code = item.ConceptNameCodeSequence[0].CodeValue if "ConceptNameCodeSequence" in item \
                else ""
            yield path, item
            yield from walk(item.get("ContentSequence", []), path + (code,))
    yield from walk(ds.ContentSequence, (ds.ConceptNameCodeSequence[0].CodeValue,))


def num(ds, code: str, under: str | None = None) -> tuple[float, str]:
    """The value and unit of the one NUM item named ``code`` (inside a container ``under``)."""
    found = [(float(i.MeasuredValueSequence[0].NumericValue),
              i.MeasuredValueSequence[0].MeasurementUnitsCodeSequence[0].CodeValue)
             for path, i in sr_items(ds) if i.ValueType == "NUM"
             and i.ConceptNameCodeSequence[0].CodeValue == code and (under is None or under in path)]
    assert len(found) == 1, f"{code}: {len(found)} items"
    return found[0]


def codes_of(ds, value_type: str) -> list[str]:
    return [i.ConceptNameCodeSequence[0].CodeValue for _, i in sr_items(ds)
            if i.ValueType == value_type]
