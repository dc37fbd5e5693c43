"""Parsers for the small workbook-level parts: workbook, styles, shared strings, tables."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.xlsx import native
from pipeline.xlsx.model import DefinedName, TableDef, XlsxError
from pipeline.xlsx.package import LocalNames, Package, PlainNames, new_parser
from pipeline.xlsx.refs import (
    BUILTIN_DATE_FORMATS,
    MAX_ROW,
    decode_xstring,
    is_date_format,
    parse_defined_name,
    split_ref,
)


@dataclass
class WorkbookPart:
    sheets: list[tuple[str, str]] = field(default_factory=list)  # (name, relationship id)
    date1904: bool = False
    defined_names: dict[str, DefinedName] = field(default_factory=dict)


def _rel_id(attrs: dict[str, str]) -> str:
    # r:id arrives as '<relationships namespace> id'; the namespace differs in Strict files.
    return next((value for key, value in attrs.items() if key.endswith(" id")), "")


def read_workbook(pkg: Package, part: str) -> WorkbookPart:
    result = WorkbookPart()
    tags = LocalNames()
    roots: list[str] = []
    pending: list[tuple[str, bool]] = []  # (name, workbook-scoped) of the open definedName
    text: list[str] = []

    def start(name: str, attrs: dict[str, str]) -> None:
        tag = tags[name]
        if not roots:
            roots.append(tag)
        if tag == "sheet":
            result.sheets.append((attrs.get("name", ""), _rel_id(attrs)))
        elif tag == "workbookPr":
            result.date1904 = attrs.get("date1904", "").lower() in ("1", "true")
        elif tag == "definedName":
            text.clear()
            pending.append((attrs.get("name", ""), "localSheetId" not in attrs))

    def chars(data: str) -> None:
        if pending:
            text.append(data)

    def end(name: str) -> None:
        if tags[name] == "definedName" and pending:
            defined, workbook_scoped = pending.pop()
            if workbook_scoped and not defined.startswith("_xlnm."):
                result.defined_names[defined] = parse_defined_name(defined, "".join(text))

    parser = new_parser()
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    pkg.parse(part, parser)
    if roots != ["workbook"]:
        raise XlsxError("not_workbook", f"{part} is a {roots[0] if roots else 'empty'} part")
    return result


def read_date_styles(pkg: Package, part: str) -> frozenset[str]:
    """The cell style indexes (as the strings found in s="…") whose number format is a date."""
    tags = LocalNames()
    custom: dict[int, str] = {}
    xf_formats: list[int] = []
    # <xf> also occurs in <cellStyleXfs> and <numFmt> in <dxfs>: only the top-level lists count.
    section = [""]

    def start(name: str, attrs: dict[str, str]) -> None:
        tag = tags[name]
        if tag in ("cellXfs", "numFmts"):
            section[0] = tag
        elif tag == "xf" and section[0] == "cellXfs":
            xf_formats.append(int(attrs.get("numFmtId", "0")))
        elif tag == "numFmt" and section[0] == "numFmts":
            custom[int(attrs.get("numFmtId", "0"))] = attrs.get("formatCode", "")

    def end(name: str) -> None:
        if tags[name] in ("cellXfs", "numFmts"):
            section[0] = ""

    parser = new_parser()
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    pkg.parse(part, parser)
    dates = {
        fmt: is_date_format(custom[fmt]) if fmt in custom else fmt in BUILTIN_DATE_FORMATS
        for fmt in set(xf_formats)
    }
    return frozenset(str(index) for index, fmt in enumerate(xf_formats) if dates[fmt])


def read_shared_strings(pkg: Package, part: str) -> list[str]:
    """Shared strings; rich text is the concatenation of its runs, phonetic runs dropped."""
    if native.scan is None:
        return read_shared_strings_python(pkg, part)
    limits = pkg.limits
    scanner = native.scan.strings_scanner(part, limits.max_text_length, limits.max_cells)
    pkg.parse(part, scanner, prolog_first=True)
    return scanner.result()


def read_shared_strings_python(pkg: Package, part: str) -> list[str]:
    """read_shared_strings with Python handlers: the reference that _scan.c translates."""
    strings: list[str] = []
    text: list[str] = []
    runs: list[str] = []
    tags = PlainNames()  # element names as written (no namespace processing)
    clear, join = text.clear, "".join
    phonetic = 0
    max_text, max_strings = pkg.limits.max_text_length, pkg.limits.max_cells

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal phonetic
        clear()  # <t> holds only text: what follows its start tag is its content
        tag = tags[name]
        if tag == "si":
            runs.clear()
        elif tag == "rPh":
            phonetic += 1

    def end(name: str) -> None:
        nonlocal phonetic
        tag = tags[name]
        if tag == "t":
            if not phonetic:
                runs.append(join(text))
        elif tag == "si":
            string = decode_xstring(join(runs))
            if len(string) > max_text:  # Excel's limit per cell; see sheet.py
                raise XlsxError("bad_xml", f"{part}: Text Nr. {len(strings) + 1} enthält "
                                           f"{len(string)} Zeichen, erlaubt sind {max_text}")
            if len(strings) >= max_strings:  # each costs memory even if no cell uses it
                raise XlsxError("too_many_cells", f"{part}: mehr als {max_strings} Texte")
            strings.append(string)
        elif tag == "rPh":
            phonetic -= 1

    parser = new_parser(namespaces=False)
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text.append
    pkg.parse(part, parser)
    return strings


def _row_count(text: str) -> int:
    """headerRowCount/totalsRowCount: a negative count would stretch the table's body."""
    count = int(text)
    if not 0 <= count <= MAX_ROW:
        raise ValueError(f"row count {text!r}")
    return count


def read_table(pkg: Package, part: str, sheet: str) -> TableDef:
    tags = LocalNames()
    head: dict[str, str] = {}
    columns: list[str] = []
    counts: list[int] = []  # header rows, totals rows; converted while parsing for bad_xml

    def start(name: str, attrs: dict[str, str]) -> None:
        tag = tags[name]
        if tag == "table" and not head:
            head.update(attrs)
            counts.append(_row_count(attrs.get("headerRowCount", "1")))
            counts.append(_row_count(attrs.get("totalsRowCount", "0")))
        elif tag == "tableColumn":
            columns.append(decode_xstring(attrs.get("name", "")))

    parser = new_parser()
    parser.StartElementHandler = start
    pkg.parse(part, parser)
    ref = head.get("ref", "").replace("$", "").upper()
    try:  # a range outside the grid would have callers walk billions of rows
        for corner in ref.split(":"):
            split_ref(corner)
    except ValueError:
        raise XlsxError("bad_xml", f"{part}: table range {ref[:40]!r}") from None
    return TableDef(
        name=head.get("displayName") or head.get("name", ""),
        sheet=sheet,
        ref=ref,
        columns=tuple(columns),
        header_rows=counts[0] if counts else 1,
        totals_rows=counts[1] if counts else 0,
    )
