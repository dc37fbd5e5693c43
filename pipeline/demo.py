"""A fictitious programme for demonstrations: registry, filled workbooks, typical mistakes.

Everything is invented: AGS municipality parts are 9xx (no real Hessian municipality has
one), names are made up, e-mail domains end in .example. Seeded, so every run is the same.
"""

from __future__ import annotations

import csv
import os
import random
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from pipeline.intake import TZ
from pipeline.money import cents
from pipeline.periods import Period, quarter_end
from pipeline.registry import Application
from pipeline.spec import Programme, load_programme
from pipeline.template.builder import build_workbook, template_filename
from pipeline.template.model import Formula, Identity, WorkbookData
from pipeline.template.sample import valid_data

# The 21 Landkreise (domain.md); the demo uses 18 of them, two applications each.
LANDKREISE = [
    ("06431", "Bergstraße"), ("06432", "Darmstadt-Dieburg"), ("06433", "Groß-Gerau"),
    ("06434", "Hochtaunuskreis"), ("06435", "Main-Kinzig-Kreis"),
    ("06436", "Main-Taunus-Kreis"), ("06437", "Odenwaldkreis"), ("06438", "Offenbach"),
    ("06439", "Rheingau-Taunus-Kreis"), ("06440", "Wetteraukreis"), ("06531", "Gießen"),
    ("06532", "Lahn-Dill-Kreis"), ("06533", "Limburg-Weilburg"),
    ("06534", "Marburg-Biedenkopf"), ("06535", "Vogelsbergkreis"), ("06631", "Fulda"),
    ("06632", "Hersfeld-Rotenburg"), ("06633", "Kassel"),
]
PREFIXES = ["Linden", "Birken", "Eichen", "Wald", "Rosen", "Sonnen", "Mühl", "Brunnen",
            "Hasel", "Weiden", "Stein", "Buchen", "Ahorn", "Erlen", "Holler", "Quell",
            "Wiesen", "Fichten", "Kirsch", "Apfel"]
SUFFIXES = ["au", "bach", "berg", "dorf", "feld", "hausen", "heim", "rode", "stadt", "tal",
            "born", "grund"]
DEMO_PERIODS = [Period(1, 1), Period(1, 2), Period(1, 3), Period(1, 4), Period(2, 1)]
MISTAKE_SHARE = 0.10


@dataclass(frozen=True)
class DemoApp(Application):
    """A registry application plus how the demo fills its reports."""

    staff_factor: Decimal = Decimal("1.00")
    fee_per_quarter: Decimal = Decimal("900")


def demo_registry(rng: random.Random, prog: Programme) -> list[DemoApp]:
    names = rng.sample([p + s for p in PREFIXES for s in SUFFIXES], 60)
    apps = []
    for i, (kreis, landkreis) in enumerate(LANDKREISE):
        for j in range(2):
            n = i * 2 + j
            ags = f"{kreis}9{n:02d}"
            verbund = n % 7 == 3
            town = names[n]
            partners = (f"{kreis}9{50 + n:02d}",) if verbund else ()
            apps.append(DemoApp(
                ags=ags,
                name=f"Verbund {town}-{names[40 + n % 20]}" if verbund else town,
                landkreis=landkreis,
                einwohner=rng.randint(6000, 9800) if verbund else rng.randint(10500, 48000),
                verbund_ags=partners,
                bewilligung_eur=(prog.money.max_approval if n % 5 else Decimal("250000.00")),
                email=f"integration@{town.lower().replace('ü', 'ue')}.example",
                row=len(apps) + 2,  # its line in the registry CSV, below the header
                staff_factor=Decimal(rng.choice(["0.92", "0.97", "1.00", "1.04", "1.09"])),
                fee_per_quarter=Decimal(rng.choice(["600", "900", "1400", "2600"])),
            ))
    return apps


def write_registry(path: Path, apps: list[DemoApp]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["ags", "name", "landkreis", "einwohner", "verbund_ags", "bewilligung_eur",
                    "email"])
        for a in apps:
            w.writerow([a.ags, a.name, a.landkreis, a.einwohner, ";".join(a.verbund_ags),
                        f"{a.bewilligung_eur:.2f}", a.email])


def filled(app: DemoApp, period: Period, rng: random.Random, prog: Programme) -> WorkbookData:
    identity = Identity(app.ags, app.name, period.projektjahr, period.quartal)
    data = valid_data(identity)
    monthly = cents(prog.money.staff_cap_per_year / 12 * app.staff_factor)
    for row in data.rows["tblPersonal"]:
        row["Arbeitgeberbrutto"] = monthly
    receipts = data.rows["tblBelege"]
    fee_row = receipts[0]
    fee_row["Betrag"] = app.fee_per_quarter
    for row in receipts[1:]:
        row["Betrag"] = cents(Decimal(rng.randint(3000, 60000)) / 100)
    tn = rng.randint(6, 30)
    _set_participants(data, tn, rng)
    return data


def _set_participants(data: WorkbookData, tn: int, rng: random.Random) -> None:
    w = rng.randint(0, tn)
    m = tn - w
    young = rng.randint(0, tn // 4)
    old = rng.randint(0, tn // 6)
    prot = rng.randint(0, tn)
    data.values.update({
        "TN_GESAMT": tn, "TN_WEIBLICH": w, "TN_MAENNLICH": m, "TN_DIVERS": 0,
        "TN_OHNE_ANGABE": 0, "TN_UNTER_18": young, "TN_18_BIS_59": tn - young - old,
        "TN_AB_60": old, "TN_SCHUTZ": prot, "TN_SONSTIGE_DSA": tn - prot,
        "BERATUNGEN": tn + rng.randint(0, 3 * tn), "TN_SPRACHKURS": rng.randint(0, tn),
        "TN_ORIENTIERUNGSKURS": rng.randint(0, tn // 2),
        "TN_BERUFSBERATUNG": rng.randint(0, tn // 2), "TN_FAMILIENNACHZUG": rng.randint(0, 4),
        "TN_ANERKENNUNG_BEANTRAGT": rng.randint(0, 3), "WIRK_BEFRAGT": tn // 2,
        "WIRK_HILFREICH": rng.randint(0, tn // 2), "EA_AKTIV": rng.randint(3, 25),
        "EA_NEU": rng.randint(0, 5), "EA_GESCHULT": rng.randint(0, 6),
        "EA_SCHULUNGEN": rng.randint(0, 2),
    })


def _mistake(kind: str, data: WorkbookData, identity: Identity, prog: Programme) -> None:
    """The typical mistakes of real clerks, one per faulty demo file."""
    receipts, staff = data.rows["tblBelege"], data.rows["tblPersonal"]
    end = quarter_end(prog, identity.period)
    if kind == "zahlung_folgequartal":
        receipts[1]["Zahlungsdatum"] = end + timedelta(days=12)
        receipts[1]["Belegdatum"] = end + timedelta(days=2)
    elif kind == "summe_geschlecht":
        data.values["TN_WEIBLICH"] = int(data.values["TN_WEIBLICH"]) + 1
    elif kind == "erklaerung_fehlt":
        data.values["ERKL_BESTAETIGT"] = None
    elif kind == "beleg_doppelt":
        receipts[2]["Belegnummer"] = receipts[1]["Belegnummer"]
    elif kind == "formel_ohne_wert":
        data.values["TN_GESAMT"] = Formula("TN_WEIBLICH+TN_MAENNLICH", None)
    elif kind == "stelle_ueber":
        staff.append({**staff[0], "Person": "AB", "Stellenanteil": Decimal("0.5")})
    elif kind == "belegdatum_nach_zahlung":
        receipts[0]["Belegdatum"] = receipts[0]["Zahlungsdatum"] + timedelta(days=3)
    elif kind == "davon_sprachkurs":
        data.values["TN_SPRACHKURS"] = int(data.values["TN_GESAMT"]) + 3
    elif kind == "betrag_als_text":
        receipts[1]["Betrag"] = "1.234,56 €"  # read fine, with a note
    elif kind == "kostenart_falsch":
        receipts[2]["Kostenart"] = "Sachkosten"


MISTAKES = ["zahlung_folgequartal", "summe_geschlecht", "erklaerung_fehlt", "beleg_doppelt",
            "formel_ohne_wert", "stelle_ueber", "belegdatum_nach_zahlung", "davon_sprachkurs",
            "betrag_als_text", "kostenart_falsch"]


def _received_at(prog: Programme, period: Period, days: int) -> float:
    moment = datetime.combine(quarter_end(prog, period) + timedelta(days=days), time(9, 30),
                              TZ)
    return moment.timestamp()


def make_demo(out: Path, seed: int = 2025) -> tuple[Path, Path]:
    """Write DIR/projektverzeichnis.csv and DIR/eingang/*.xlsx; returns (registry, inbox)."""
    prog = load_programme()
    rng = random.Random(seed)
    apps = demo_registry(rng, prog)
    registry, inbox = out / "projektverzeichnis.csv", out / "eingang"
    inbox.mkdir(parents=True, exist_ok=True)
    write_registry(registry, apps)
    # Three applications have not sent their latest report yet (overdue in the demo).
    late = {a.ags for a in apps[5::12]}
    jobs = [(a, p) for a in apps for p in DEMO_PERIODS
            if not (a.ags in late and p == DEMO_PERIODS[-1])]
    picked = sorted(rng.sample(range(len(jobs)), round(len(jobs) * MISTAKE_SHARE)))
    faulty = {n: MISTAKES[i % len(MISTAKES)] for i, n in enumerate(picked)}
    for n, (app, period) in enumerate(jobs):
        identity = Identity(app.ags, app.name, period.projektjahr, period.quartal)
        data = filled(app, period, rng, prog)
        path = inbox / template_filename(identity)
        if n in faulty:
            kind = faulty[n]
            bad = replace(data, values=dict(data.values),
                          rows={k: [dict(r) for r in v] for k, v in data.rows.items()})
            _mistake(kind, bad, identity, prog)
            first = path.with_name(path.stem + "_erste_fassung.xlsx")
            build_workbook(first, identity, bad)
            os.utime(first, (_received_at(prog, period, 10),) * 2)
            if n % 2:  # half of them sent a corrected version later
                build_workbook(path, identity, data)
                os.utime(path, (_received_at(prog, period, 25),) * 2)
            continue
        build_workbook(path, identity, data)
        os.utime(path, (_received_at(prog, period, rng.randint(5, 40)),) * 2)
    _odd_files(inbox, jobs, prog)
    return registry, inbox


def _odd_files(inbox: Path, jobs, prog: Programme) -> None:
    """What else lands in an analyst's folder: a copy sent twice, a scan, a CSV export."""
    app, period = jobs[0]
    original = inbox / template_filename(Identity(app.ags, app.name, *period_key(period)))
    if original.exists():
        copy = inbox / "weitergeleitet" / f"Kopie von {original.name}"
        copy.parent.mkdir(exist_ok=True)
        copy.write_bytes(original.read_bytes())
        os.utime(copy, (_received_at(prog, period, 41),) * 2)
    export = inbox / "Teilnehmerliste_Export.xlsx"
    export.write_text("Name;Datum\nA. B.;01.10.2025\n", encoding="utf-8")
    os.utime(export, (_received_at(prog, period, 30),) * 2)


def period_key(period: Period) -> tuple[int, int]:
    return period.projektjahr, period.quartal
