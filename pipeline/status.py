"""Submission status per application and quarter against the deadlines and the Stichtag."""

from __future__ import annotations

from datetime import date

from pipeline.periods import Period, all_periods, deadline, quarter_end
from pipeline.select import FAULTY, USED, Entry
from pipeline.spec import Programme

RECEIVED, FAULTY_LABEL, MISSING, OVERDUE, NOT_DUE = (
    "verwendet", "fehlerhaft", "fehlt", "überfällig", "noch nicht fällig")


def quarter_status(prog: Programme, period: Period, statuses: set[str], stichtag: date) -> str:
    if USED in statuses:
        return RECEIVED
    if FAULTY in statuses:
        return FAULTY_LABEL
    if deadline(prog, period) < stichtag:
        return OVERDUE
    if quarter_end(prog, period) < stichtag:
        return MISSING
    return NOT_DUE


def status_matrix(prog: Programme, ags_list: list[str], entries: list[Entry],
                  stichtag: date) -> dict[str, dict[Period, str]]:
    seen: dict[tuple[str, Period], set[str]] = {}
    for e in entries:
        if e.key is not None:
            seen.setdefault((e.key[0], e.period), set()).add(e.status)
    return {
        ags: {p: quarter_status(prog, p, seen.get((ags, p), set()), stichtag)
              for p in all_periods(prog)}
        for ags in ags_list
    }
