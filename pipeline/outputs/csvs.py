"""The machine-read CSV outputs of contract section 4 (UTF-8, ',', decimal point)."""

from __future__ import annotations

import csv
import io
import re
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
_QUOTED = re.compile('[,"\r\n]')  # what csv.writer (minimal quoting, ',' '"') quotes


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
    """The CSV bytes of `columns` and `rows`: each value as `cell` makes it, quoted as
    `csv.writer` quotes (minimal quoting, ',', '"', '\\n'); byte-equal to `csv.writer`
    (the oracle in tests/reference_csv.py) and ≈ 3× faster: a text that needs neither
    quoting nor neutralising, an int and None are written as they are."""
    out = [_field_line(columns)]
    add = out.append
    for row in rows:
        fields = []
        for value in row:
            kind = type(value)
            if kind is str:
                if value and (value[0] in _DANGEROUS or _QUOTED.search(value)):
                    value = _field(neutralise(value))
                fields.append(value)
            elif kind is int:
                fields.append(str(value))
            elif value is None:
                fields.append("")
            else:
                fields.append(_field(cell(value)))
        if len(fields) == 1 and fields[0] == "":
            fields[0] = '""'  # a row of one empty field, as csv.writer writes it
        add(",".join(fields))
        add("\n")
    return "".join(out).encode("utf-8")


def write_findings(path: Path, findings: Iterable[Finding]) -> None:
    rows = ([f.schwere.value if c == "schwere" else getattr(f, c) for c in CSV_COLUMNS]
            for f in findings)
    write_bytes(path, render(CSV_COLUMNS, rows))


def write_intake(path: Path, rows: Iterable[Sequence[object]]) -> None:
    write_bytes(path, render(EINGAENGE_COLUMNS, rows))


def write_figures(path: Path, rows: Iterable[Sequence[object]]) -> None:
    write_bytes(path, render_figures(rows))


def render_figures(rows: Iterable[Sequence[object]]) -> bytes:
    """The bytes of `render(KENNZAHLEN_COLUMNS, rows)` (tested equal to the oracle in
    tests/reference_csv.py), ≈ 4× faster: the texts (AGS, kennzahl) repeat and are
    rendered once each, and so is the start of the line while AGS, PJ and quarter stay the
    same objects; numbers need no quoting, and an amount with two decimals is its own text
    (`csv_money` inlined)."""
    texts: dict[object, str] = {}

    def text(value: object) -> str:
        hit = texts.get(value)
        if hit is None:
            hit = texts[value] = _field(cell(value))
        return hit

    out = [_field_line(KENNZAHLEN_COLUMNS)]
    add = out.append
    get = texts.get  # a hit without the call of text(); "" (an empty text) calls it again
    last: tuple[object, object, object] = (object(), None, None)
    head = ""
    for ags, pj, q, name, wert in rows:
        # The same objects, the same text (equal ones may differ: 1, 1.0 and True).
        if q is not last[2] or pj is not last[1] or ags is not last[0]:
            last = (ags, pj, q)
            head = f"{get(ags) or text(ags)},{'' if pj is None else pj},{'' if q is None else q},"
        kind = type(wert)
        if kind is Decimal:
            value = str(wert)  # what csv_money returns for cents (see there)
            if value[-3:-2] != "." or len(value) >= 28 or value == "-0.00":
                value = csv_money(wert)
        elif kind is int:
            value = str(wert)
        else:
            value = _field(cell(wert))
        add(f"{head}{get(name) or text(name)},{value}\n")
    return "".join(out).encode("utf-8")


def _field(text: str) -> str:
    """One CSV field as csv.writer (minimal quoting) writes it inside a row: written with
    an empty field after it, so a lone empty string does not become '""'."""
    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator="\n").writerow([text, ""])
    return buf.getvalue()[:-2]


def _field_line(columns: Sequence[str]) -> str:
    return ",".join(_field(c) for c in columns) + "\n"
