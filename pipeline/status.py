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


SHORT = {RECEIVED: "ok", FAULTY_LABEL: "FEHLER", MISSING: "fehlt", OVERDUE: "ÜBERF.",
         NOT_DUE: "·"}


def ledger_table(prog: Programme, rows, names: dict[str, str], stichtag: date) -> str:
    """The ledger per application × quarter as a German text table for the terminal."""
    seen: dict[tuple[str, Period], list[str]] = {}
    for r in rows:
        if r["projekt_ags"] and r["projektjahr"] and r["quartal"]:
            key = (r["projekt_ags"], Period(r["projektjahr"], r["quartal"]))
            seen.setdefault(key, []).append(r["status"])
    ags_list = sorted(set(names) | {k[0] for k in seen})
    periods = all_periods(prog)
    head = f"{'AGS':<9} {'Projekt':<24} " + " ".join(f"{p.label:>9}" for p in periods)
    lines = [f"Eingänge je Projekt und Quartal, Stichtag {stichtag:%d.%m.%Y}", head,
             "-" * len(head)]
    for ags in ags_list:
        cells = []
        for p in periods:
            statuses = seen.get((ags, p), [])
            label = SHORT[quarter_status(prog, p, set(statuses), stichtag)]
            cells.append(f"{label}{f' ({len(statuses)})' if statuses else '':>4}".rjust(9))
        lines.append(f"{ags:<9} {names.get(ags, '')[:24]:<24} " + " ".join(cells))
    lines.append("")
    lines.append("ok = verwendet, FEHLER = nur fehlerhafte Eingänge, fehlt = Quartal vorbei, "
                 "Frist läuft, ÜBERF. = Frist verstrichen, · = noch nicht fällig; "
                 "(n) = Anzahl eingegangener Dateien")
    return "\n".join(lines)
