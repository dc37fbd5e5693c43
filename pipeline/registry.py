"""The Projektverzeichnis (contract section 1): one row per application, kept by the ministry.

`read_registry` returns the valid applications and the findings of the rows it dropped or
doubts. Only a file that cannot serve as a registry at all (unreadable, required column
missing) raises `RegistryError`, a configuration error the CLI maps to exit code 2.

Decisions:
- Header names must match exactly (surrounding spaces are ignored); extra columns are ignored.
- Completely empty rows are skipped silently; `row` is the spreadsheet row (header = 1).
- An AGS of 7 digits lost its leading zero in Excel (a number cell, or a CSV saved by Excel):
  the zero is restored with a Hinweis. Partner AGS are treated the same way.
- Duplicates: the first occurrence of an AGS (as lead or partner) wins, every later one is an
  error, whether or not the earlier row is valid otherwise, so the analyst sees both.
- A Verbund is recognised by a non-blank `verbund_ags`, even if a partner AGS is malformed.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from pipeline.findings import Finding, Severity
from pipeline.money import fmt_eur
from pipeline.spec import Programme
from pipeline.xlsx.refs import column_letters

COLUMNS = ("ags", "name", "landkreis", "einwohner", "verbund_ags", "bewilligung_eur", "email")
AGS_DIGITS = 8  # length of an Amtlicher Gemeindeschlüssel (federal standard)
PARTNER_SEPARATOR = ";"
_INTEGER = re.compile(r"-?\d+")
_AMOUNT = re.compile(r"-?\d+(\.\d{1,2})?")

_E, _W, _N = Severity.ERROR, Severity.WARNING, Severity.NOTE
RULES: dict[str, tuple[Severity, str]] = {
    "REG_KODIERUNG": (_N, "Verzeichnis nicht in UTF-8 gespeichert, als Windows-1252 gelesen."),
    "REG_AGS_ZAHL": (_N, "AGS mit 7 Ziffern (führende Null verloren); die Null wurde ergänzt."),
    "REG_AGS_FORMAT": (_E, "AGS des Antrags ist kein gültiger achtstelliger Gemeindeschlüssel."),
    "REG_AGS_DOPPELT": (_E, "AGS kommt mehrfach vor (als Antragsteller oder Verbundpartner)."),
    "REG_EINWOHNER": (_E, "Einwohnerzahl keine ganze Zahl oder außerhalb der Teilnahmegrenzen."),
    "REG_VERBUND_AGS": (_E, "AGS eines Verbundpartners ist ungültig."),
    "REG_BEWILLIGUNG": (_E, "Bewilligung fehlt, keine Zahl, negativ oder über dem Höchstbetrag."),
    "REG_EMAIL": (_W, "Kontaktadresse fehlt oder enthält kein @."),
    "REG_PFLICHT": (_E, "Projektname oder Landkreis fehlt."),
}


class RegistryError(Exception):
    """The registry cannot be used at all (configuration error, exit code 2). German text."""


@dataclass(frozen=True)
class Application:
    ags: str
    name: str
    landkreis: str
    einwohner: int
    verbund_ags: tuple[str, ...]
    bewilligung_eur: Decimal
    email: str
    row: int


@dataclass
class _Sheet:
    datei: str
    blatt: str
    rows: list[list[object]]  # rows[0] is the header row (spreadsheet row 1)
    notes: list[Finding] = field(default_factory=list)


@dataclass
class _Row:
    sheet: _Sheet
    number: int
    cells: list[object]
    columns: dict[str, int]
    ags: str = ""
    findings: list[Finding] = field(default_factory=list)

    def text(self, column: str) -> str:
        index = self.columns[column]
        return _text(self.cells[index]) if index < len(self.cells) else ""

    def report(self, regel: str, column: str, wert: str, meldung: str) -> None:
        self.findings.append(Finding(
            regel=regel, schwere=RULES[regel][0], meldung=f"Zeile {self.number}: {meldung}",
            datei=self.sheet.datei, blatt=self.sheet.blatt, projekt_ags=self.ags,
            zelle=f"{column_letters(self.columns[column] + 1)}{self.number}", wert=wert,
        ))


def read_registry(path: Path, prog: Programme) -> tuple[list[Application], list[Finding]]:
    """Valid applications in file order, and all findings (rows with an error are dropped)."""
    sheet = _load(path)
    columns = _column_index(sheet)
    findings = list(sheet.notes)
    applications: list[Application] = []
    seen: dict[str, int] = {}  # AGS -> row of its first occurrence
    for number, cells in enumerate(sheet.rows[1:], start=2):
        if all(_text(c) == "" for c in cells):
            continue
        row = _Row(sheet, number, cells, columns)
        application = _parse(row, prog, seen)
        findings.extend(row.findings)
        if application and not any(f.is_error for f in row.findings):
            applications.append(application)
    return applications, findings


# --- reading the file ---------------------------------------------------------------------
def _load(path: Path) -> _Sheet:
    loaders = {".csv": _load_csv, ".xlsx": _load_xlsx}
    if path.suffix.lower() not in loaders:
        raise RegistryError(f"Projektverzeichnis {path.name}: nur .csv oder .xlsx wird gelesen.")
    try:
        return loaders[path.suffix.lower()](path)
    except OSError as exc:  # missing, no permission, a folder ...
        raise RegistryError(f"Projektverzeichnis {path} ist nicht lesbar: {exc}.") from exc


def _load_csv(path: Path) -> _Sheet:
    data = path.read_bytes()
    notes: list[Finding] = []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise RegistryError(f"Projektverzeichnis {path.name}: weder UTF-8 noch Windows-1252."
                                " Bitte als „CSV UTF-8“ speichern.") from exc
        notes.append(Finding(
            regel="REG_KODIERUNG", schwere=RULES["REG_KODIERUNG"][0], datei=path.name,
            meldung="Die Datei ist nicht in UTF-8 gespeichert und wurde als Windows-1252 "
            "gelesen. Bitte Umlaute prüfen und künftig als „CSV UTF-8“ speichern.",
        ))
    header = text.splitlines()[0] if text else ""
    delimiter = ";" if header.count(";") > header.count(",") else ","
    rows: list[list[object]] = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    return _Sheet(path.name, "", rows, notes)


def _load_xlsx(path: Path) -> _Sheet:
    import openpyxl  # only for a registry kept as .xlsx: start-up stays fast without it
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise RegistryError(
            f"Projektverzeichnis {path.name}: keine lesbare Excel-Arbeitsmappe ({exc})."
        ) from exc
    try:
        sheet = book.worksheets[0]
        sheet.reset_dimensions()  # some writers store a wrong sheet size
        rows = [list(r) for r in sheet.iter_rows(values_only=True)]
        return _Sheet(path.name, sheet.title, rows)
    finally:
        book.close()


def _column_index(sheet: _Sheet) -> dict[str, int]:
    header = [_text(h).lstrip("\ufeff").strip() for h in (sheet.rows[0] if sheet.rows else [])]
    doubled = sorted({c for c in COLUMNS if header.count(c) > 1})
    missing = [c for c in COLUMNS if c not in header]
    if missing or doubled:
        problem = (f"es fehlen die Spalten {', '.join(missing)}" if missing
                   else f"die Spalten {', '.join(doubled)} kommen mehrfach vor")
        found = ", ".join(h for h in header if h) or "keine"
        raise RegistryError(
            f"Projektverzeichnis {sheet.datei}: {problem}. Gefunden: {found}. Erwartet wird in "
            f"Zeile 1 je eine Spalte {', '.join(COLUMNS)} (Reihenfolge beliebig)."
        )
    return {c: header.index(c) for c in COLUMNS}


def _text(value: object) -> str:
    """A cell as text; Excel stores whole numbers as floats (12000.0 -> '12000')."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


# --- one row --------------------------------------------------------------------------------
def _parse(row: _Row, prog: Programme, seen: dict[str, int]) -> Application | None:
    row.ags = row.text("ags")
    row.ags = _ags(row, "ags", row.ags)
    if not re.fullmatch(prog.ags_pattern, row.ags):
        row.report("REG_AGS_FORMAT", "ags", row.ags, f"AGS {_q(row.ags)} ist ungültig. Erwartet: "
                   f"{AGS_DIGITS}-stelliger Amtlicher Gemeindeschlüssel (Muster {prog.ags_pattern}"
                   "), als Text mit führender Null. Bitte den AGS korrigieren.")
    partners = _partners(row, prog)
    _check_duplicates(row, prog, partners, seen)
    einwohner = _population(row, prog, bool(row.text("verbund_ags")))
    approval = _approval(row, prog)
    for column, label in (("name", "den Projektnamen"), ("landkreis", "den Landkreis")):
        if not row.text(column):
            row.report("REG_PFLICHT", column, "", f"Spalte „{column}“ ist leer. Bitte {label} "
                       "eintragen.")
    email = row.text("email")
    if "@" not in email:
        problem = f"{_q(email)} ist keine E-Mail-Adresse" if email else "fehlt"
        row.report("REG_EMAIL", "email", email, f"Kontaktadresse {problem} (erwartet z. B. "
                   "name@beispiel.de). Ohne sie kann keine Rückmeldung versandt werden.")
    if einwohner is None or approval is None:
        return None
    return Application(row.ags, row.text("name"), row.text("landkreis"), einwohner,
                       partners, approval, email, row.number)


def _ags(row: _Row, column: str, text: str) -> str:
    if text.isdigit() and len(text) == AGS_DIGITS - 1:
        restored = "0" + text
        row.report("REG_AGS_ZAHL", column, text, f"AGS „{text}“ hat nur {len(text)} Ziffern; "
                   f"die führende Null ging vermutlich in Excel verloren. Gelesen als "
                   f"„{restored}“. Bitte die Spalte als Text formatieren.")
        return restored
    return text


def _partners(row: _Row, prog: Programme) -> tuple[str, ...]:
    pieces = [p.strip() for p in row.text("verbund_ags").split(PARTNER_SEPARATOR)]
    partners = tuple(_ags(row, "verbund_ags", p) for p in pieces if p)
    for partner in partners:
        if not re.fullmatch(prog.ags_pattern, partner):
            row.report("REG_VERBUND_AGS", "verbund_ags", partner, f"Partner-AGS „{partner}“ "
                       f"ist ungültig. Erwartet: {AGS_DIGITS}-stellige Gemeindeschlüssel "
                       f"(Muster {prog.ags_pattern}), getrennt durch „{PARTNER_SEPARATOR}“.")
    return partners


def _check_duplicates(row: _Row, prog: Programme, partners: tuple[str, ...],
                      seen: dict[str, int]) -> None:
    for column, ags in [("ags", row.ags)] + [("verbund_ags", p) for p in partners]:
        if not re.fullmatch(prog.ags_pattern, ags):
            continue
        if ags in seen:
            where = "dieser Zeile" if seen[ags] == row.number else f"Zeile {seen[ags]}"
            row.report("REG_AGS_DOPPELT", column, ags, f"AGS „{ags}“ steht bereits in {where}. "
                       "Jede Kommune darf nur in einem Antrag vorkommen (als Antragstellerin "
                       "oder Verbundpartnerin); bitte die Doppelung entfernen.")
        else:
            seen[ags] = row.number


def _population(row: _Row, prog: Programme, verbund: bool) -> int | None:
    text = row.text("einwohner")
    if not _INTEGER.fullmatch(text):
        row.report("REG_EINWOHNER", "einwohner", text, f"Einwohnerzahl {_q(text)} ist keine ganze "
                   "Zahl. Bitte nur Ziffern ohne Tausenderpunkt eintragen (z. B. 12345).")
        return None
    value = int(text)
    lowest = prog.population_verbund_min if verbund else prog.population_alone_min
    if value > prog.population_max:
        problem = f"liegt über der Obergrenze von {_int(prog.population_max)}"
    elif value < lowest and verbund:
        problem = f"liegt auch im Verbund unter der Mindestgröße von {_int(lowest)}"
    elif value < lowest:
        problem = (f"liegt unter {_int(lowest)}; so kleine Kommunen dürfen nur im Verbund "
                   "teilnehmen (Partner-AGS in „verbund_ags“ eintragen)")
    else:
        return value
    row.report("REG_EINWOHNER", "einwohner", text, f"Einwohnerzahl {_q(text)} {problem}. "
               "Bitte Einwohnerzahl bzw. Verbund prüfen.")
    return None


def _approval(row: _Row, prog: Programme) -> Decimal | None:
    text = row.text("bewilligung_eur")
    cap = prog.money.max_approval
    if not _AMOUNT.fullmatch(text):
        problem = "ist keine Zahl im Format 123456.78 (Dezimalpunkt, höchstens zwei " \
                  "Nachkommastellen, kein Tausenderpunkt)"
    elif Decimal(text) < 0:
        problem = "ist negativ"
    elif Decimal(text) > cap:
        problem = f"liegt über dem Höchstbetrag von {fmt_eur(cap)}"
    else:
        return Decimal(text).quantize(Decimal("0.01"))
    row.report("REG_BEWILLIGUNG", "bewilligung_eur", text, f"Bewilligung {_q(text)} {problem}. "
               "Bitte den bewilligten Betrag laut Zuwendungsbescheid eintragen.")
    return None


def _q(text: str) -> str:
    """A value quoted for a message; an empty cell reads '(leer)'."""
    return f"„{text}“" if text else "(leer)"


def _int(value: int) -> str:
    return f"{value:,}".replace(",", ".")
