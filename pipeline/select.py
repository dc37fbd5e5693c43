"""Which submission counts: per application and quarter, the newest one without errors.

Statuses (contract section 4): verwendet, ersetzt, fehlerhaft, abgelehnt, doppelt.
"Newest" orders by eingang, then by the later ERKL_DATUM, then by file name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cached_property
from itertools import groupby

from pipeline.intake import Received
from pipeline.periods import Period
from pipeline.validate import Checked

USED, REPLACED, FAULTY, REJECTED, DUPLICATE = (
    "verwendet", "ersetzt", "fehlerhaft", "abgelehnt", "doppelt")


@dataclass
class Entry:
    received: Received
    checked: Checked
    status: str = ""

    @cached_property
    def key(self) -> tuple[str, int, int] | None:
        """(AGS, Projektjahr, Quartal) as declared in the workbook (asked for some ten
        times per entry and run; a check result is never changed after the fact)."""
        sub = self.checked.submission
        if sub is None or sub.ags is None or sub.projektjahr is None or sub.quartal is None:
            return None
        return sub.ags, sub.projektjahr, sub.quartal

    @property
    def period(self) -> Period:
        key = self.key
        assert key is not None
        return Period(key[1], key[2])

    def order(self) -> tuple:
        sub = self.checked.submission
        declared = sub.get(sub.spec.roles["declaration_date"]) if sub and sub.spec else None
        return (self.received.eingang, declared or date.min, self.received.datei)


def decide(entries: list[Entry]) -> list[Entry]:
    """Set every entry's status in place; returns the entries in file order."""
    first_of_hash: dict[str, Entry] = {}
    for e in sorted(entries, key=lambda e: (e.received.eingang, e.received.datei)):
        if e.received.problem is not None:
            continue  # a container that could not be unpacked: rejected below
        if e.received.sha256 in first_of_hash:
            e.status = DUPLICATE
        else:
            first_of_hash[e.received.sha256] = e
    candidates = []
    for e in entries:
        if e.status:
            continue
        if not e.checked.readable:
            e.status = REJECTED
        elif e.checked.errors or e.key is None:
            e.status = FAULTY
        else:
            candidates.append(e)
    candidates.sort(key=lambda e: (e.key, e.order()))
    for _key, group in groupby(candidates, key=lambda e: e.key):
        ordered = list(group)
        for e in ordered[:-1]:
            e.status = REPLACED
        ordered[-1].status = USED
    return sorted(entries, key=lambda e: e.received.datei)
