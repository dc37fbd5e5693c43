"""Seeded, reproducible benchmark inboxes, built with the project's own template generator.

Every workbook is valid (no findings): 3 staff rows a month (together one post), about 100
receipts with realistic amounts and receipt numbers unique per application, 5 measures.
A workbook's content depends only on (seed, AGS, quarter, variant), so the same
application-quarter is byte-identical in every inbox and can be hard-linked between them.

Inboxes are cached under `build/bench/<name>/` with a stamp (`VERSION`); a stale or missing
stamp regenerates the inbox, built in a temp folder and renamed when complete.
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import time as clock
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from pipeline import __version__
from pipeline.demo import LANDKREISE, PREFIXES, SUFFIXES, DemoApp, demo_registry, filled
from pipeline.demo import write_registry as write_demo_registry
from pipeline.intake import TZ
from pipeline.money import cents
from pipeline.periods import Period, all_periods, quarter_end, quarter_start
from pipeline.spec import Programme, TemplateSpec, load_programme, load_template
from pipeline.template.builder import build_workbook, template_filename
from pipeline.template.model import Identity, WorkbookData

# Bump when the generated content changes (the template/programme digests are added).
DATA_VERSION = "1"
SEED = 2025
BASE_APPS = 36
RECEIPTS = 100
BIG_RECEIPTS = 5000
MEASURES = 5
HONORAR_SHARE = 0.15
# Three people a month, together exactly one post: (Stellenanteil, Projektanteil %).
POSTS = [(Decimal("1"), Decimal("50")), (Decimal("0.5"), Decimal("60")),
         (Decimal("0.25"), Decimal("80"))]
PAY_GRADES = ["9b", "9c", "S 12", "10"]
FEE_PAYEES = ["Dolmetscherdienst Beispiel GmbH", "Sprachmittlung Muster e. V.",
              "Übersetzungsbüro Beispiel", "Referentin Beispiel (Honorar)",
              "Kulturverein Beispielstadt e. V.", "Bildungswerk Muster gGmbH"]
FEE_PURPOSES = ["Sprachmittlung Sprechstunde", "Dolmetschen Elterngespräch",
                "Vortrag Infoabend Anerkennung", "Workshop interkulturelle Kompetenz",
                "Übersetzung Merkblatt Familiennachzug"]
VOLUNTEER_PURPOSES = ["Fahrtkostenerstattung Lotsendienst", "Auslagen Begegnungscafé",
                      "Fahrtkosten Begleitung Behördengang", "Material Hausaufgabenhilfe",
                      "Auslagen Sprachcafé", "Telefonkosten Patenschaft"]
MEASURE_TITLES = ["Infoabend Anerkennung ausländischer Abschlüsse",
                  "Schulung Lotsinnen und Lotsen", "Begegnungsfest im Stadtteil",
                  "Netzwerktreffen Sprachkursträger", "Workshop Demokratie vor Ort",
                  "Sprechstunde Familiennachzug", "Fortbildung Ausländerbehörde"]
STAFF_FACTORS = ["0.92", "0.97", "1.00", "1.04", "1.09"]
FEES = ["600", "900", "1400", "2600"]
BENCH_DIR = Path(__file__).resolve().parents[2] / "build" / "bench"


def data_version() -> str:
    """Code/spec version the cache is keyed by."""
    return (f"{DATA_VERSION}-kisi{__version__}-tpl{load_template().digest[:12]}"
            f"-prog{load_programme().digest[:12]}")


# --------------------------------------------------------------------------- applications
def bench_apps(n_apps: int, prog: Programme | None = None) -> list[DemoApp]:
    """The 36 demo applications, then fictitious extra ones (AGS 9xx) in the same Landkreise,
    round-robin. The first k applications are the same for every n_apps >= k."""
    prog = prog or load_programme()
    apps = demo_registry(random.Random(SEED), prog)
    if n_apps <= len(apps):
        return apps[:n_apps]
    used: dict[str, set[str]] = {kreis: set() for kreis, _ in LANDKREISE}
    for a in apps:
        for ags in (a.ags, *a.verbund_ags):
            used[ags[:5]].add(ags[5:])
    free = {kreis: [str(n) for n in range(900, 1000) if str(n) not in taken]
            for kreis, taken in used.items()}
    rng = random.Random(f"{SEED}:extra-apps")
    for k in range(n_apps - len(apps)):
        kreis, landkreis = LANDKREISE[k % len(LANDKREISE)]
        slot = k // len(LANDKREISE)
        if slot >= len(free[kreis]):
            raise ValueError(f"at most {len(apps) + sum(map(len, free.values()))} "
                             "fictitious applications")
        ags = f"{kreis}{free[kreis][slot]}"
        town = rng.choice(PREFIXES) + rng.choice(SUFFIXES)
        mail_town = town.lower().replace("ü", "ue")
        apps.append(DemoApp(
            ags=ags, name=town, landkreis=landkreis, einwohner=rng.randint(10500, 48000),
            verbund_ags=(), bewilligung_eur=prog.money.max_approval,
            email=f"integration@{mail_town}-{ags[5:]}.example", row=len(apps) + 2,
            staff_factor=Decimal(rng.choice(STAFF_FACTORS)),
            fee_per_quarter=Decimal(rng.choice(FEES))))
    return apps


# --------------------------------------------------------------------------- one workbook
def _day(rng: random.Random, start: date, end: date) -> date:
    return start + timedelta(days=rng.randint(0, (end - start).days))


def staff_rows(app: DemoApp, start: date, rng: random.Random,
               prog: Programme) -> list[dict[str, object]]:
    monthly = prog.money.staff_cap_per_year / 12 * app.staff_factor
    people = rng.sample([a + b for a in "ABDEFGHKLMNPRSTW" for b in "ABDEFGHKLMNPRSTW"
                         if a != b], len(POSTS))
    grade, level = rng.choice(PAY_GRADES), rng.randint(1, 6)
    rows = []
    month = start
    for _ in range(3):
        for person, (fte, share) in zip(people, POSTS, strict=True):
            rows.append({"Monat": month, "Person": person, "Stellenanteil": fte,
                         "Entgeltgruppe": grade, "Stufe": level,
                         "Arbeitgeberbrutto": cents(monthly * fte), "Projektanteil": share})
        month = (month + timedelta(days=32)).replace(day=1)
    return rows


def receipt_rows(identity: Identity, start: date, end: date, rng: random.Random,
                 prog: Programme, n: int) -> list[dict[str, object]]:
    fee_kind, volunteer_kind = list(prog.cost_kinds)[:2]
    drafts = []
    for _ in range(n):
        paid = _day(rng, start, end)
        issued = max(start, paid - timedelta(days=rng.randint(0, 14)))
        if rng.random() < HONORAR_SHARE:
            drafts.append((paid, issued, fee_kind, rng.choice(FEE_PAYEES),
                           rng.choice(FEE_PURPOSES), Decimal(rng.randint(3000, 18000))))
        else:
            drafts.append((paid, issued, volunteer_kind,
                           f"Ehrenamtliche Person {rng.randint(1, 40)}",
                           rng.choice(VOLUNTEER_PURPOSES), Decimal(rng.randint(450, 4500))))
    drafts.sort(key=lambda d: (d[0], d[1]))
    tag = f"{identity.ags}-PJ{identity.projektjahr}Q{identity.quartal}"
    return [{"LfdNr": k, "Belegnummer": f"{tag}-{k:04d}", "Belegdatum": issued,
             "Zahlungsdatum": paid, "Kostenart": kind, "Empfaenger": payee, "Zweck": purpose,
             "Betrag": cents(amount / 100)}
            for k, (paid, issued, kind, payee, purpose, amount) in enumerate(drafts, start=1)]


def measure_rows(start: date, end: date, rng: random.Random,
                 spec: TemplateSpec) -> list[dict[str, object]]:
    table = spec.table("tblMassnahmen")
    formats, groups = table.column("Format").choices, table.column("Zielgruppe").choices
    rows = []
    for _ in range(MEASURES):
        people = rng.randint(4, 60)
        rows.append({"Datum": _day(rng, start, end), "Format": rng.choice(formats),
                     "Titel": rng.choice(MEASURE_TITLES), "Zielgruppe": rng.choice(groups),
                     "Teilnehmende": people, "DavonDSA": rng.randint(0, people)})
    return sorted(rows, key=lambda r: r["Datum"])  # type: ignore[arg-type, return-value]


def workbook_data(app: DemoApp, period: Period, rng: random.Random, receipts: int,
                  prog: Programme | None = None,
                  spec: TemplateSpec | None = None) -> WorkbookData:
    """A valid filling: the demo's `filled` (participants, staff level) with bench-sized
    tables."""
    prog, spec = prog or load_programme(), spec or load_template()
    identity = Identity(app.ags, app.name, period.projektjahr, period.quartal)
    start, end = quarter_start(prog, period), quarter_end(prog, period)
    data = filled(app, period, rng, prog)
    data.values["EMAIL"] = app.email
    data.rows["tblPersonal"] = staff_rows(app, start, rng, prog)
    data.rows["tblBelege"] = receipt_rows(identity, start, end, rng, prog, receipts)
    data.rows["tblMassnahmen"] = measure_rows(start, end, rng, spec)
    return data


def received_at(prog: Programme, period: Period, days: int) -> float:
    """Arrival time (mtime) of a report: `days` after the quarter's end, 09:30 local time."""
    moment = datetime.combine(quarter_end(prog, period) + timedelta(days=days), time(9, 30),
                              TZ)
    return moment.timestamp()


@dataclass(frozen=True)
class Job:
    """One workbook to write. `variant` != "" gives other content (a corrected resubmission)."""

    app: DemoApp
    period: Period
    path: Path
    receipts: int
    mtime: float
    variant: str = ""

    @property
    def seed(self) -> str:
        p = self.period
        return f"{SEED}:{self.app.ags}:{p.projektjahr}:{p.quartal}:{self.receipts}:{self.variant}"


def build_one(job: Job) -> Path:
    prog, spec = load_programme(), load_template()
    data = workbook_data(job.app, job.period, random.Random(job.seed), job.receipts, prog, spec)
    identity = Identity(job.app.ags, job.app.name, job.period.projektjahr, job.period.quartal)
    build_workbook(job.path, identity, data, spec, prog)
    os.utime(job.path, (job.mtime, job.mtime))
    return job.path


def build_all(jobs: list[Job], workers: int | None = None) -> None:
    """Write the workbooks, on all cores when there are enough of them."""
    workers = workers or os.cpu_count() or 1
    if workers == 1 or len(jobs) < 4:
        for job in jobs:
            build_one(job)
        return
    with ProcessPoolExecutor(workers) as pool:
        for _ in pool.map(build_one, jobs, chunksize=max(1, min(16, len(jobs) // workers // 4))):
            pass


# --------------------------------------------------------------------------- inboxes
@dataclass(frozen=True)
class Inbox:
    """A generated benchmark inbox: `inbox/` holds the workbooks, `registry` lists the
    applications, `extra` (if any) is one further file that arrives later (warm run)."""

    name: str
    root: Path
    apps: int
    receipts: int

    @property
    def inbox(self) -> Path:
        return self.root / "eingang"

    @property
    def registry(self) -> Path:
        return self.root / "projektverzeichnis.csv"

    @property
    def extra(self) -> Path | None:
        found = sorted((self.root / "neu").glob("*.xlsx"))
        return found[0] if found else None

    @property
    def files(self) -> list[Path]:
        return sorted(self.inbox.glob("*.xlsx"))


def _stamp(n_apps: int, n_files: int, receipts: int, extra: bool) -> dict[str, object]:
    return {"version": data_version(), "seed": SEED, "apps": n_apps, "files": n_files,
            "receipts": receipts, "extra": extra}


def _read_stamp(root: Path) -> dict[str, object] | None:
    try:
        return json.loads((root / "VERSION").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _link(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _donors(base: Path, stamp: dict[str, object]) -> list[Path]:
    """Other cached inboxes whose files are interchangeable with ours (same version, seed
    and receipt count): their workbooks are hard-linked instead of built again."""
    if not base.is_dir():
        return []
    found = []
    for other in sorted(base.iterdir()):
        theirs = _read_stamp(other)
        if theirs and all(theirs.get(k) == stamp[k] for k in ("version", "seed", "receipts")):
            found.append(other / "eingang")
    return found


def ensure_inbox(name: str, n_apps: int, n_files: int | None = None,
                 receipts: int = RECEIPTS, extra: bool = True, base: Path = BENCH_DIR,
                 workers: int | None = None, log: bool = True) -> Inbox:
    """The cached inbox `base/name`, generated first if missing or stale.

    n_apps applications × all quarters, cut to n_files workbooks if given (the last
    application may then have fewer quarters). `extra` adds a corrected resubmission of the
    first application's last quarter in `neu/`, arriving after everything else."""
    prog = load_programme()
    periods = all_periods(prog)
    n_files = n_files or n_apps * len(periods)
    n_apps = min(n_apps, math.ceil(n_files / len(periods)))
    stamp = _stamp(n_apps, n_files, receipts, extra)
    root = base / name
    result = Inbox(name, root, n_apps, receipts)
    if _read_stamp(root) == stamp:
        return result
    apps = bench_apps(n_apps, prog)
    tmp = base / f".{name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "eingang").mkdir(parents=True)
    write_demo_registry(tmp / "projektverzeichnis.csv", apps)
    jobs = []
    for app in apps:
        for period in periods:
            if len(jobs) == n_files:
                break
            days = random.Random(f"{SEED}:{app.ags}:{period}:eingang").randint(5, 40)
            identity = Identity(app.ags, app.name, period.projektjahr, period.quartal)
            jobs.append(Job(app, period, tmp / "eingang" / template_filename(identity),
                            receipts, received_at(prog, period, days)))
    if extra:
        last = jobs[-1]
        late = max(j.mtime for j in jobs) + 86400
        jobs.append(Job(last.app, last.period,
                        tmp / "neu" / last.path.name.replace(".xlsx", "_korrektur.xlsx"),
                        receipts, late, variant="korrektur"))
    donors = [d for d in _donors(base, stamp) if d.parent != root]
    todo = []
    for job in jobs:
        src = next((d / job.path.name for d in donors
                    if job.path.parent.name == "eingang" and (d / job.path.name).is_file()),
                   None)
        if src is None:
            todo.append(job)
        else:
            _link(src, job.path)
    if log:
        print(f"[bench] generating {name}: {len(todo)} workbooks "
              f"({len(jobs) - len(todo)} linked from cached inboxes)", flush=True)
    build_all(todo, workers)
    (tmp / "VERSION").write_text(json.dumps(stamp, indent=1) + "\n", encoding="utf-8")
    shutil.rmtree(root, ignore_errors=True)
    os.replace(tmp, root)
    return result


def settle(folder: Path) -> None:
    """Wait until the files below `folder` were last changed `SETTLED_NS` ago. Linking
    them just now set their change time (ctime); files a report runs on arrived earlier,
    and files changed in the last seconds before a run are read again by the next run
    (`pipeline.intake.statindex`), which a warm measurement must not count."""
    from pipeline.intake.statindex import SETTLED_NS

    newest = max((f.stat().st_ctime_ns for f in folder.rglob("*") if f.is_file()), default=0)
    wait = (newest + SETTLED_NS - clock.time_ns()) / 1e9 + 0.05
    if wait > 0:
        clock.sleep(wait)


def link_tree(files: Iterable[Path], dest: Path) -> None:
    """Hard-link files into a fresh folder (same inode, so the mtime travels with them)."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    for f in files:
        _link(f, dest / f.name)
