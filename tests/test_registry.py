"""The Projektverzeichnis reader: formats, Excel quirks and one bad row per rule."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from pipeline.findings import Finding, Severity
from pipeline.registry import COLUMNS, RULES, Application, RegistryError, read_registry
from pipeline.spec import load_programme

PROG = load_programme()
CAP = PROG.money.max_approval
LETTER = {c: "ABCDEFG"[i] for i, c in enumerate(COLUMNS)}  # files below keep COLUMNS order

# Fictitious municipalities (9xx numbers, invented names), as domain.md asks.
GOOD = {
    "ags": "06431901", "name": "Beispielstadt", "landkreis": "Bergstraße", "einwohner": "12000",
    "verbund_ags": "", "bewilligung_eur": "250000.00", "email": "kisi@beispielstadt.example",
}
VERBUND = {
    "ags": "06432905", "name": "Verbund Musterhausen", "landkreis": "Darmstadt-Dieburg",
    "einwohner": "7000", "verbund_ags": "06432906;06432907", "bewilligung_eur": "200000.5",
    "email": "verbund@musterhausen.example",
}


def write_csv(tmp_path: Path, rows: list[dict[str, str]], delimiter: str = ",",
              encoding: str = "utf-8", header: tuple[str, ...] = COLUMNS) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([r.get(c, "") for c in header] for r in rows)
    path = tmp_path / "verzeichnis.csv"
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def read(path: Path) -> tuple[list[Application], list[Finding]]:
    return read_registry(path, PROG)


def only(findings: list[Finding], regel: str) -> Finding:
    matching = [f for f in findings if f.regel == regel]
    assert len(matching) == 1, findings
    return matching[0]


# --- formats ---------------------------------------------------------------------------------

def test_comma_csv_valid_rows_survive(tmp_path: Path) -> None:
    apps, findings = read(write_csv(tmp_path, [GOOD, VERBUND]))
    assert findings == []
    assert apps == [
        Application("06431901", "Beispielstadt", "Bergstraße", 12000, (), Decimal("250000.00"),
                    "kisi@beispielstadt.example", 2),
        Application("06432905", "Verbund Musterhausen", "Darmstadt-Dieburg", 7000,
                    ("06432906", "06432907"), Decimal("200000.50"),
                    "verbund@musterhausen.example", 3),
    ]


def test_semicolon_csv_with_bom_and_shuffled_extra_columns(tmp_path: Path) -> None:
    header = ("bemerkung", *reversed(COLUMNS))
    path = write_csv(tmp_path, [GOOD, VERBUND], ";", "utf-8-sig", header)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    apps, findings = read(path)
    assert findings == []
    assert [a.ags for a in apps] == ["06431901", "06432905"]
    assert apps[1].verbund_ags == ("06432906", "06432907")


def test_cp1252_is_read_with_a_note(tmp_path: Path) -> None:
    apps, findings = read(write_csv(tmp_path, [GOOD], ";", "cp1252"))
    assert apps[0].landkreis == "Bergstraße"
    note = only(findings, "REG_KODIERUNG")
    assert note.schwere is Severity.NOTE and note.datei == "verzeichnis.csv"


def test_empty_rows_are_skipped_and_row_numbers_kept(tmp_path: Path) -> None:
    apps, findings = read(write_csv(tmp_path, [GOOD, {}, VERBUND]))
    assert findings == []
    assert [a.row for a in apps] == [2, 4]


def test_xlsx_first_sheet_with_ags_stored_as_number(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Verzeichnis"
    sheet.append(list(COLUMNS))
    sheet.append([6431901, "Beispielstadt", "Bergstraße", 12000, None, 250000.5, "a@b.example"])
    sheet.append([])  # an empty row in between
    sheet.append(["06432905", "Verbund", "Darmstadt-Dieburg", 7000.0, "6432906", 1000, "v@x.de"])
    book.create_sheet("Notizen").append(["ags"])  # later sheets are ignored
    path = tmp_path / "verzeichnis.xlsx"
    book.save(path)

    apps, findings = read(path)

    assert [(a.ags, a.row, a.einwohner, a.bewilligung_eur) for a in apps] == [
        ("06431901", 2, 12000, Decimal("250000.50")),
        ("06432905", 4, 7000, Decimal("1000.00")),
    ]
    assert apps[1].verbund_ags == ("06432906",)
    notes = [f for f in findings if f.regel == "REG_AGS_ZAHL"]
    assert [(f.blatt, f.zelle, f.schwere) for f in notes] == [
        ("Verzeichnis", "A2", Severity.NOTE), ("Verzeichnis", "E4", Severity.NOTE)
    ]
    assert "6431901" in notes[0].meldung and "06431901" in notes[0].meldung


def test_seven_digit_ags_in_csv_is_restored(tmp_path: Path) -> None:
    apps, findings = read(write_csv(tmp_path, [GOOD | {"ags": "6431901"}]))
    assert apps[0].ags == "06431901"
    assert only(findings, "REG_AGS_ZAHL").zelle == "A2"


# --- configuration errors --------------------------------------------------------------------

def test_missing_column_raises_with_its_name(tmp_path: Path) -> None:
    header = tuple(c for c in COLUMNS if c not in ("email", "einwohner"))
    with pytest.raises(RegistryError, match="einwohner, email"):
        read(write_csv(tmp_path, [GOOD], header=header))


def test_doubled_column_raises(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="mehrfach.*ags"):
        read(write_csv(tmp_path, [GOOD], header=(*COLUMNS, "ags")))


@pytest.mark.parametrize("name", ["fehlt.csv", "verzeichnis.ods"])
def test_unreadable_file_raises(tmp_path: Path, name: str) -> None:
    with pytest.raises(RegistryError, match="Projektverzeichnis"):
        read(tmp_path / name)


def test_broken_xlsx_raises(tmp_path: Path) -> None:
    path = tmp_path / "kaputt.xlsx"
    path.write_bytes(b"kein zip")
    with pytest.raises(RegistryError, match="kaputt.xlsx"):
        read(path)


# --- one bad row per rule --------------------------------------------------------------------

POP_MAX, ALONE_MIN = PROG.population_max, PROG.population_alone_min
VERBUND_MIN = PROG.population_verbund_min
BAD_ROWS = [
    ("ags", "6431X01", "REG_AGS_FORMAT"),
    ("ags", "07431909", "REG_AGS_FORMAT"),  # not in Hessen
    ("ags", "", "REG_AGS_FORMAT"),
    ("einwohner", "12.000", "REG_EINWOHNER"),
    ("einwohner", "", "REG_EINWOHNER"),
    ("einwohner", str(POP_MAX + 1), "REG_EINWOHNER"),
    ("einwohner", str(ALONE_MIN - 1), "REG_EINWOHNER"),  # too small to apply alone
    ("verbund_ags", "06431X02", "REG_VERBUND_AGS"),
    ("verbund_ags", "06431902,06431903", "REG_VERBUND_AGS"),  # wrong separator
    ("bewilligung_eur", "290.657,90", "REG_BEWILLIGUNG"),
    ("bewilligung_eur", "100.001", "REG_BEWILLIGUNG"),
    ("bewilligung_eur", "-1.00", "REG_BEWILLIGUNG"),
    ("bewilligung_eur", str(CAP + Decimal("0.01")), "REG_BEWILLIGUNG"),
    ("bewilligung_eur", "", "REG_BEWILLIGUNG"),
    ("name", "", "REG_PFLICHT"),
    ("landkreis", "", "REG_PFLICHT"),
]


@pytest.mark.parametrize(("column", "value", "regel"), BAD_ROWS)
def test_bad_row_is_reported_and_dropped(
    tmp_path: Path, column: str, value: str, regel: str
) -> None:
    bad = GOOD | {"ags": "06431911", column: value}
    apps, findings = read(write_csv(tmp_path, [VERBUND, bad]))
    finding = only(findings, regel)
    assert (finding.schwere, finding.zelle, finding.wert) == (Severity.ERROR, f"{LETTER[column]}3",
                                                              value)
    assert (finding.datei, finding.blatt) == ("verzeichnis.csv", "")
    assert finding.meldung.startswith("Zeile 3: ")
    assert (f"„{value}“" if value else "(leer)") in finding.meldung or regel == "REG_PFLICHT"
    assert [a.ags for a in apps] == [VERBUND["ags"]]


def test_verbund_lead_below_verbund_minimum(tmp_path: Path) -> None:
    small = str(VERBUND_MIN - 1)
    apps, findings = read(write_csv(tmp_path, [VERBUND | {"einwohner": small}]))
    finding = only(findings, "REG_EINWOHNER")
    assert finding.zelle == "D2" and f"„{small}“" in finding.meldung
    assert "auch im Verbund" in finding.meldung
    assert apps == []


def test_population_limits_themselves_are_allowed(tmp_path: Path) -> None:
    rows = [
        GOOD | {"ags": "06431911", "einwohner": str(ALONE_MIN)},
        GOOD | {"ags": "06431912", "einwohner": str(POP_MAX)},
        VERBUND | {"einwohner": str(VERBUND_MIN)},
        GOOD | {"ags": "06431913", "bewilligung_eur": str(CAP)},
        GOOD | {"ags": "06431914", "bewilligung_eur": "0"},
    ]
    apps, findings = read(write_csv(tmp_path, rows))
    assert findings == [] and len(apps) == len(rows)


def test_email_is_only_a_warning(tmp_path: Path) -> None:
    apps, findings = read(write_csv(tmp_path, [GOOD | {"email": "kisi.beispielstadt"}]))
    finding = only(findings, "REG_EMAIL")
    assert (finding.schwere, finding.zelle) == (Severity.WARNING, "G2")
    assert "„kisi.beispielstadt“" in finding.meldung and finding.projekt_ags == "06431901"
    assert [a.ags for a in apps] == ["06431901"]


def test_missing_email_is_a_warning_too(tmp_path: Path) -> None:
    apps, findings = read(write_csv(tmp_path, [GOOD | {"email": ""}]))
    finding = only(findings, "REG_EMAIL")
    assert finding.zelle == "G2" and "fehlt" in finding.meldung
    assert len(apps) == 1


def test_header_only_gives_no_applications(tmp_path: Path) -> None:
    assert read(write_csv(tmp_path, [])) == ([], [])


# --- duplicates ------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("second", "zelle", "ags"),
    [
        (GOOD | {"name": "Zweitstadt"}, "A3", "06431901"),  # same lead twice
        (VERBUND | {"verbund_ags": "06431901"}, "E3", "06431901"),  # first lead as partner
        (GOOD | {"ags": "06432906"}, "A3", "06432906"),  # first partner as lead
    ],
)
def test_second_occurrence_is_the_duplicate(
    tmp_path: Path, second: dict[str, str], zelle: str, ags: str
) -> None:
    first = GOOD | {"verbund_ags": "06432906", "einwohner": "7000"}
    apps, findings = read(write_csv(tmp_path, [first, second]))
    finding = only(findings, "REG_AGS_DOPPELT")
    assert (finding.zelle, finding.wert) == (zelle, ags)
    assert f"„{ags}“" in finding.meldung and "Zeile 2" in finding.meldung
    assert [a.row for a in apps] == [2]


def test_partner_equal_to_own_lead_is_a_duplicate(tmp_path: Path) -> None:
    row = VERBUND | {"verbund_ags": "06432906;06432905"}
    apps, findings = read(write_csv(tmp_path, [row]))
    finding = only(findings, "REG_AGS_DOPPELT")
    assert finding.zelle == "E2" and "dieser Zeile" in finding.meldung
    assert apps == []


# --- catalogue -------------------------------------------------------------------------------

def test_rule_catalogue() -> None:
    assert all(regel.startswith("REG_") and text for regel, (_, text) in RULES.items())
    assert RULES["REG_EMAIL"][0] is Severity.WARNING
    assert {regel for _, _, regel in BAD_ROWS} <= set(RULES)
