"""A workbook with only the Prüfbericht: the confirmation for a clean submission, and the
fallback when a workbook cannot be copied (its findings are listed without links).

The confirmation is written once per clean submission, so it does not go through openpyxl
each time: one confirmation is rendered with openpyxl (the layout of `sheet.py`) per
process, and each submission then only gets its own rows and document date in that
pre-rendered package. `confirmation_bytes(info, figures)` gives the same bytes as
`summary_bytes(info, (), figures)` (the tests compare them), about 20 times faster.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache
from pathlib import Path

from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from pipeline.feedback.model import REPORT_SHEET, ReportInfo
from pipeline.feedback.package import core_stamp, workbook_bytes, zip_members
from pipeline.feedback.sheet import (
    TITLE,
    VALUE_COLUMN,
    Listed,
    safe_text,
    title_lines,
    write_report_sheet,
)
from pipeline.findings import Finding
from pipeline.outputs.atomic import write_bytes
from pipeline.rules.fmt import fmt

# Key figures a clean report contributes: kennzahl -> (German label, unit).
KEY_FIGURES = {
    "personal_gemeldet": ("Personalausgaben (gemeldet)", "€"),
    "honorar_gemeldet": ("Honorare (gemeldet)", "€"),
    "ehrenamt_gemeldet": ("Aufwendungen Ehrenamtliche (gemeldet)", "€"),
    "foerderfaehig_gesamt": ("Förderfähig insgesamt (mit Restkostenpauschale)", "€"),
    "zuwendung": ("Zuwendung für dieses Quartal", "€"),
    "tn_gesamt": ("Neue Teilnehmende", ""),
    "beratungen": ("Beratungskontakte", ""),
    "massnahmen": ("Maßnahmen und Veranstaltungen", ""),
}


def figure_lines(values: dict[str, object]) -> list[tuple[str, str]]:
    """Title-block lines for the key figures found in `values` (kennzahl -> value)."""
    lines = []
    for key, (label, unit) in KEY_FIGURES.items():
        if key in values:
            value = values[key]
            text = fmt(Decimal(str(value)).quantize(Decimal("0.01"))) if unit else fmt(value)
            lines.append((label, f"{text} {unit}".strip()))
    return lines


def summary_bytes(info: ReportInfo, findings: Sequence[Finding] = (),
                  figures: Sequence[tuple[str, str]] = ()) -> bytes:
    """The Prüfbericht-only workbook, rendered with openpyxl."""
    wb = Workbook()
    ws = wb.active
    ws.title = REPORT_SHEET
    write_report_sheet(ws, info, [Listed(f) for f in findings], extra=figures)
    return workbook_bytes(wb, info.stand)


def confirmation_bytes(info: ReportInfo, figures: Sequence[tuple[str, str]] = ()) -> bytes:
    """`summary_bytes(info, (), figures)`, built from the pre-rendered package."""
    t = _template()
    rows = [f'<row r="1">{_cell("A1", TITLE, t.title_style)}</row>']
    for row, (label, value) in enumerate(title_lines(info, (), figures), start=2):
        rows.append(f'<row r="{row}">{_cell(f"A{row}", label, t.label_style)}'
                    f'{_cell(f"{_VALUE}{row}", value, "")}</row>')
    sheet = (t.head.replace(t.dimension, f'<dimension ref="A1:{_VALUE}{len(rows)}"', 1)
             + "".join(rows) + t.tail)
    core = t.core.replace(_iso(_SENTINEL), _iso(core_stamp(info.stand)))
    parts = {t.sheet_part: sheet.encode("utf-8"), _CORE: core.encode("utf-8")}
    return zip_members((name, parts.get(name, body)) for name, body in t.members)


def confirmation(info: ReportInfo, out_path: Path,
                 figures: Sequence[tuple[str, str]] = ()) -> Path:
    """The short confirmation: received, complete, and (optionally) its key figures."""
    write_bytes(out_path, confirmation_bytes(info, figures))
    return out_path


def findings_only(info: ReportInfo, findings: Sequence[Finding], out_path: Path) -> Path:
    write_bytes(out_path, summary_bytes(info, findings))
    return out_path


# ----------------------------------------------------------- the pre-rendered package
_CORE = "docProps/core.xml"
_SENTINEL = datetime(1999, 9, 9, 9, 9, 9)  # a document date no real stamp collides with
_VALUE = get_column_letter(VALUE_COLUMN)


@dataclass(frozen=True)
class _Template:
    members: tuple[tuple[str, bytes], ...]  # every part, in openpyxl's order
    sheet_part: str
    head: str  # the sheet XML up to and including <sheetData>
    tail: str  # from </sheetData> on
    dimension: str  # the '<dimension ref="…"' of `head`
    core: str  # docProps/core.xml dated _SENTINEL
    title_style: str
    label_style: str


@cache
def _template() -> _Template:
    data = summary_bytes(ReportInfo("Datei", "", stand=_SENTINEL))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = tuple((i.filename, archive.read(i.filename)) for i in archive.infolist())
    sheet_part = next(n for n, _ in members if n.startswith("xl/worksheets/"))
    xml = dict(members)[sheet_part].decode("utf-8")
    start = xml.index("<sheetData>") + len("<sheetData>")
    end = xml.index("</sheetData>")
    dimension = re.search(r'<dimension ref="[^"]*"', xml[:start])
    styles = dict(re.findall(r'<c r="(A[12])" s="([0-9]+)"', xml[start:end]))
    if dimension is None or set(styles) != {"A1", "A2"}:  # pragma: no cover - openpyxl changed
        raise RuntimeError("unexpected layout of the pre-rendered confirmation")
    return _Template(members, sheet_part, xml[:start], xml[end:], dimension.group(0),
                     dict(members)[_CORE].decode("utf-8"), styles["A1"], styles["A2"])


def _iso(stamp: datetime) -> str:
    return stamp.isoformat(timespec="seconds") + "Z"  # as openpyxl writes W3CDTF dates


def _cell(ref: str, text: str, style: str) -> str:
    """An inline-string cell as openpyxl writes it (text is data, never a formula)."""
    attrs = f'r="{ref}"' + (f' s="{style}"' if style else "") + ' t="inlineStr"'
    text = safe_text(text)
    stripped = text.strip()
    space = ' xml:space="preserve"' if stripped and stripped != text else ""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"<c {attrs}><is><t{space}>{text}</t></is></c>"
