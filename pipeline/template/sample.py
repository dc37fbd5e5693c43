"""A complete, valid filling of the workbook: the starting point of test fixtures (one
deliberate mistake each) and of the demo. Fictitious data only.

Valid means every contract rule holds: breakdowns add up, "davon" figures stay below their
totals, all dates lie in the quarter (payment dates decide it), each month has at most one
post, receipt numbers are unique across the project, the narrative is filled (required in
Q4), the declaration is given and dated.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal

from pipeline.periods import quarter_end, quarter_start
from pipeline.spec import Programme, TemplateSpec, load_programme, load_template
from pipeline.template.model import Identity, WorkbookData
from pipeline.template.validation import YES_VALUE

# The fictitious applicant of tests, fixtures and the demo (AGS 9xx: no real municipality).
MUSTERSTADT = Identity("06431901", "Musterstadt", 1, 2)
CENT = Decimal("0.01")
MONTHS_PER_YEAR = 12

COUNTS = {
    "TN_GESAMT": 12,
    "TN_WEIBLICH": 5,
    "TN_MAENNLICH": 6,
    "TN_DIVERS": 0,
    "TN_OHNE_ANGABE": 1,
    "TN_UNTER_18": 2,
    "TN_18_BIS_59": 9,
    "TN_AB_60": 1,
    "TN_SCHUTZ": 7,
    "TN_SONSTIGE_DSA": 5,
    "TN_NICHT_ZIELGRUPPE": 2,
    "BERATUNGEN": 31,
    "TN_SPRACHKURS": 4,
    "TN_ORIENTIERUNGSKURS": 2,
    "TN_BERUFSBERATUNG": 3,
    "TN_FAMILIENNACHZUG": 2,
    "TN_ANERKENNUNG_BEANTRAGT": 1,
    "WIRK_BEFRAGT": 8,
    "WIRK_HILFREICH": 7,
    "EA_AKTIV": 9,
    "EA_NEU": 3,
    "EA_GESCHULT": 4,
    "EA_SCHULUNGEN": 1,
}
NARRATIVE = {
    "SB_ERGEBNISSE": "Die Sprechstunde im Rathaus ist eingeführt; 12 Personen wurden neu "
    "beraten.\nDas Netzwerk mit Sprachkursträgern trifft sich monatlich.",
    "SB_HERAUSFORDERUNGEN": "Wartezeiten auf Sprachkursplätze; gelöst durch Absprachen mit "
    "zwei Trägern.",
    "SB_AUSBLICK": "Ausbau der Schulungen für Ehrenamtliche und eine zweite Sprechstunde.",
}


def valid_data(
    identity: Identity, spec: TemplateSpec | None = None, prog: Programme | None = None
) -> WorkbookData:
    spec, prog = spec or load_template(), prog or load_programme()
    start, end = quarter_start(prog, identity.period), quarter_end(prog, identity.period)
    values: dict[str, object] = {
        "ANSPRECHPERSON": "Erika Mustermann",
        "EMAIL": "integration@musterstadt.example",
        "TELEFON": "06251 900-123",
        **COUNTS,
        **NARRATIVE,
        "ERKL_BESTAETIGT": YES_VALUE,
        "ERKL_NAME": "Erika Mustermann",
        "ERKL_DATUM": end,
    }
    return WorkbookData(
        values=values,
        rows={
            "tblPersonal": _staff_rows(prog, start),
            "tblBelege": _receipt_rows(prog, identity, start),
            "tblMassnahmen": _measure_rows(spec, start),
        },
    )


def _month_starts(start: date) -> list[date]:
    firsts, day = [], start
    for _ in range(3):
        firsts.append(day)
        day = (day + timedelta(days=32)).replace(day=1)
    return firsts


def _staff_rows(prog: Programme, start: date) -> list[dict[str, object]]:
    # One full post at 100 %, paid just under the monthly share of the yearly cap.
    monthly = (prog.money.staff_cap_per_year / MONTHS_PER_YEAR).quantize(CENT, ROUND_DOWN)
    return [
        {
            "Monat": month,
            "Person": "EM",
            "Stellenanteil": Decimal(1),
            "Entgeltgruppe": "9b",
            "Stufe": 2,
            "Arbeitgeberbrutto": monthly,
            "Projektanteil": Decimal(100),
        }
        for month in _month_starts(start)
    ]


def _receipt_rows(prog: Programme, identity: Identity, start: date) -> list[dict[str, object]]:
    fee, volunteer = list(prog.cost_kinds)[:2]
    tag = f"{identity.ags}-PJ{identity.projektjahr}Q{identity.quartal}"
    items = [
        (fee, "Dolmetscherdienst Beispiel GmbH", "Sprachmittlung Sprechstunde", "480.00"),
        (volunteer, "Ehrenamtliche Person 1", "Fahrtkostenerstattung Lotsendienst", "42.80"),
        (volunteer, "Ehrenamtliche Person 2", "Auslagen Begegnungscafé", "65.00"),
    ]
    rows = []
    for n, (kind, payee, purpose, amount) in enumerate(items, start=1):
        paid = start + timedelta(days=10 * n + 5)
        rows.append(
            {
                "LfdNr": n,
                "Belegnummer": f"{tag}-{n:03d}",
                "Belegdatum": paid - timedelta(days=5),
                "Zahlungsdatum": paid,
                "Kostenart": kind,
                "Empfaenger": payee,
                "Zweck": purpose,
                "Betrag": Decimal(amount),
            }
        )
    return rows


def _measure_rows(spec: TemplateSpec, start: date) -> list[dict[str, object]]:
    table = spec.table("tblMassnahmen")
    formats, groups = table.column("Format").choices, table.column("Zielgruppe").choices
    return [
        {
            "Datum": start + timedelta(days=20),
            "Format": formats[0],
            "Titel": "Infoabend Anerkennung ausländischer Abschlüsse",
            "Zielgruppe": groups[0],
            "Teilnehmende": 18,
            "DavonDSA": 15,
        },
        {
            "Datum": start + timedelta(days=45),
            "Format": formats[3],
            "Titel": "Schulung Lotsinnen und Lotsen",
            "Zielgruppe": groups[1],
            "Teilnehmende": 6,
            "DavonDSA": 1,
        },
    ]
