"""A workbook with only the Prüfbericht: the confirmation for a clean submission, and the
fallback when a workbook cannot be copied (its findings are listed without links).

The confirmation is written once per clean submission, so it does not go through openpyxl
each time: one confirmation is rendered with openpyxl (the layout of `sheet.py`) per
process, and each submission then only gets its own rows and document date in that
pre-rendered package. `confirmation_bytes(info, figures)` gives the same bytes as
`summary_bytes(info, (), figures)` (the tests compare them), about 20 times faster. The
package's other members are zipped once per process (`package.Prepacked`): per submission
only the sheet (and core.xml for a new date) is compressed.
"""

from __future__ import annotations

import binascii
import io
import json
import re
import zipfile
from collections.abc import Sequence
from datetime import datetime
from functools import cache, lru_cache
from pathlib import Path
from typing import NamedTuple

from pipeline.feedback.model import KEY_FIGURES, REPORT_SHEET, ReportInfo, figure_lines
from pipeline.feedback.package import Prepacked, b64, core_stamp, unb64, workbook_bytes
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

__all__ = ["KEY_FIGURES", "confirmation", "confirmation_bytes", "figure_lines",
           "findings_only", "summary_bytes"]

def summary_bytes(info: ReportInfo, findings: Sequence[Finding] = (),
                  figures: Sequence[tuple[str, str]] = ()) -> bytes:
    """The Prüfbericht-only workbook, rendered with openpyxl."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = REPORT_SHEET
    write_report_sheet(ws, info, [Listed(f) for f in findings], extra=figures)
    return workbook_bytes(wb, info.stand)


def confirmation_bytes(info: ReportInfo, figures: Sequence[tuple[str, str]] = (),
                       stored: Path | None = None, environment: str = "") -> bytes:
    """`summary_bytes(info, (), figures)`, built from the pre-rendered package (kept in
    the file `stored` for `environment`, see `template`)."""
    t = template(stored, environment)
    rows = [f'<row r="1">{_cell("A1", TITLE, t.title_style)}</row>']
    for row, (label, value) in enumerate(title_lines(info, (), figures), start=2):
        rows.append(f'<row r="{row}">{_cell(f"A{row}", label, t.label_style)}'
                    f'{_cell(f"{_VALUE}{row}", value, "")}</row>')
    sheet = (t.head.replace(t.dimension, f'<dimension ref="A1:{_VALUE}{len(rows)}"', 1)
             + "".join(rows) + t.tail)
    core = t.core.replace(_iso(_SENTINEL), _iso(core_stamp(info.stand)))
    return _packed(t).build({t.sheet_part: sheet.encode("utf-8"), _CORE: core.encode("utf-8")})


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
_VALUE = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[VALUE_COLUMN - 1]  # openpyxl's get_column_letter


class _Template(NamedTuple):  # (≈ 10× cheaper to define than a dataclass)
    members: tuple[tuple[str, bytes], ...]  # every part, in openpyxl's order
    sheet_part: str
    head: str  # the sheet XML up to and including <sheetData>
    tail: str  # from </sheetData> on
    dimension: str  # the '<dimension ref="…"' of `head`
    core: str  # docProps/core.xml dated _SENTINEL
    title_style: str
    label_style: str


def template(stored: Path | None = None, environment: str = "") -> _Template:
    """The pre-rendered package: rendered once per process, or read from the file `stored`
    when it was written for the same `environment` (the program and the openpyxl version,
    feedback/state.py): a run that only confirms clean files then never imports openpyxl
    (≈ 0.15 s). The file keeps the package's zipped members too (package.Prepacked), so
    such a run zips only what each confirmation changes. A missing or unreadable file is
    written again."""
    if stored is None:
        return _template()
    key = (stored, environment)
    found = _read.get(key) or _read_template(stored, environment)
    if found is None:
        found = _template()
        data = {**found._asdict(), "environment": environment,
                "members": [[name, b64(body)] for name, body in found.members],
                "packed": _packed(found).kept()}
        write_bytes(stored, json.dumps(data, sort_keys=True).encode("utf-8"), durable=False)
    _read[key] = found
    return found


_read: dict[tuple[Path, str], _Template] = {}


def _read_template(stored: Path, environment: str) -> _Template | None:
    try:
        data = json.loads(stored.read_bytes())
        if data.pop("environment") != environment:
            return None
        packed = data.pop("packed", None)
        members = tuple((name, unb64(body)) for name, body in data.pop("members"))
        found = _Template(members, **data)
    except (OSError, ValueError, TypeError, KeyError, AttributeError, binascii.Error):
        return None
    texts = [found.sheet_part, found.head, found.tail, found.dimension, found.core,
             found.title_style, found.label_style, *(name for name, _ in found.members)]
    if not all(isinstance(t, str) for t in texts) or found.sheet_part not in dict(found.members):
        return None
    _packed(found, packed)
    return found


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


def _packed(t: _Template, kept: object = None) -> Prepacked:
    """The template's zip, prepared once per process (from `kept`, what the stored
    template holds, if usable): only the sheet and core.xml (the same for every
    submission dated alike) are compressed per confirmation."""
    found = _prepacked.get(id(t))
    if found is None or found[0] is not t:
        found = (t, Prepacked(t.members, (t.sheet_part, _CORE), repeated=(_CORE,), kept=kept))
        _prepacked[id(t)] = found
    return found[1]


_prepacked: dict[int, tuple[_Template, Prepacked]] = {}


def _iso(stamp: datetime) -> str:
    return stamp.isoformat(timespec="seconds") + "Z"  # as openpyxl writes W3CDTF dates


@lru_cache(maxsize=4096)  # labels, and many values (period, result, deadline), repeat
def _cell(ref: str, text: str, style: str) -> str:
    """An inline-string cell as openpyxl writes it (text is data, never a formula)."""
    attrs = f'r="{ref}"' + (f' s="{style}"' if style else "") + ' t="inlineStr"'
    text = safe_text(text)
    stripped = text.strip()
    space = ' xml:space="preserve"' if stripped and stripped != text else ""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"<c {attrs}><is><t{space}>{text}</t></is></c>"
