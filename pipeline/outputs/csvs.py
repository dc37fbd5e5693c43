"""The machine-read CSV outputs of contract section 4 (UTF-8, ',', decimal point)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path

from pipeline.findings import CSV_COLUMNS, Finding
from pipeline.money import csv_money
from pipeline.outputs.atomic import write_bytes

EINGAENGE_COLUMNS = ["datei", "sha256", "eingang", "projekt_ags", "projektjahr", "quartal",
                     "status", "fehler", "warnungen"]
KENNZAHLEN_COLUMNS = ["projekt_ags", "projektjahr", "quartal", "kennzahl", "wert"]
_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """OWASP CSV injection: text starting with a formula trigger gets a leading apostrophe."""
    return "'" + text if text.startswith(_DANGEROUS) else text


def cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return csv_money(value)
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return neutralise(value)
    return neutralise(str(value))


def render(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return buf.getvalue().encode("utf-8")


def write_findings(path: Path, findings: Iterable[Finding]) -> None:
    rows = ([f.schwere.value if c == "schwere" else getattr(f, c) for c in CSV_COLUMNS]
            for f in findings)
    write_bytes(path, render(CSV_COLUMNS, rows))


def write_intake(path: Path, rows: Iterable[Sequence[object]]) -> None:
    write_bytes(path, render(EINGAENGE_COLUMNS, rows))


def write_figures(path: Path, rows: Iterable[Sequence[object]]) -> None:
    write_bytes(path, render_figures(rows))


def render_figures(rows: Iterable[Sequence[object]]) -> bytes:
    """The bytes of `render(KENNZAHLEN_COLUMNS, rows)` (tested equal), ≈ 3× faster: the
    texts (AGS, kennzahl) repeat and are rendered once each; numbers need no quoting."""
    texts: dict[object, str] = {}

    def text(value: object) -> str:
        hit = texts.get(value)
        if hit is None:
            hit = texts[value] = _field(cell(value))
        return hit

    out = [_field_line(KENNZAHLEN_COLUMNS)]
    get = texts.get  # a hit without the call of text(); "" (an empty text) calls it again
    for ags, pj, q, name, wert in rows:
        value = csv_money(wert) if type(wert) is Decimal else (
            str(wert) if type(wert) is int else _field(cell(wert)))
        out.append(f"{get(ags) or text(ags)},{'' if pj is None else pj},"
                   f"{'' if q is None else q},{get(name) or text(name)},{value}\n")
    return "".join(out).encode("utf-8")


def _field(text: str) -> str:
    """One CSV field as csv.writer (minimal quoting) writes it inside a row: written with
    an empty field after it, so a lone empty string does not become '""'."""
    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator="\n").writerow([text, ""])
    return buf.getvalue()[:-2]


def _field_line(columns: Sequence[str]) -> str:
    return ",".join(_field(c) for c in columns) + "\n"
