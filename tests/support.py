"""Helpers shared by the tests (not fixtures): check a workbook, pick findings."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from pipeline.findings import Finding
from pipeline.intake import sha256_file
from pipeline.spec import load_programme
from pipeline.validate import Checked, check_bytes


def check(path: Path, known_ags: frozenset[str] | None = None, **limits: int) -> Checked:
    prog = load_programme()
    if limits:
        prog = dataclasses.replace(prog, limits=dataclasses.replace(prog.limits, **limits))
    return check_bytes(path.read_bytes(), path.name, sha256_file(path), prog, known_ags)


def only(checked: Checked, rule: str) -> Finding:
    """The single finding of `rule`; fails listing everything found otherwise."""
    hits = [f for f in checked.findings if f.regel == rule]
    found = [(f.regel, f.meldung) for f in checked.findings]
    assert len(hits) == 1, f"expected one {rule}, got: {found}"
    return hits[0]


def rules_of(checked: Checked) -> list[str]:
    return sorted(f.regel for f in checked.findings)
