"""The programme and template specs, loaded from the TOML files beside this module.

Everything the pipeline knows about fields, limits, periods and rates comes from here;
no other module repeats a field name's meaning or a programme number.
"""

from __future__ import annotations

import hashlib
import pickle
import tomllib
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path

SPEC_DIR = Path(__file__).parent
PROGRAMME_FILE = SPEC_DIR / "programm.toml"


@dataclass(frozen=True)
class Money:
    staff_cap_per_year: Decimal
    volunteer_cap_total: Decimal
    fee_cap_total: Decimal
    flat_rate: Decimal
    funding_rate: Decimal
    eu_rate: Decimal
    max_approval: Decimal
    staff_month_tolerance: Decimal
    max_fte_per_month: Decimal


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int
    max_member_bytes: int
    max_total_bytes: int
    max_ratio: int
    max_members: int
    max_cells: int
    max_table_rows: int
    max_text_length: int
    max_archive_depth: int
    max_findings_per_rule: int
    max_markup_rows: int
    max_container_bytes: int


@dataclass(frozen=True)
class Indicator:
    code: str
    kind: str
    label: str
    sources: tuple[str, ...]
    unit: str


@dataclass(frozen=True)
class Amif:
    """Parameters of the AMIF report: accounting year, CPR cut-offs, suppression."""

    accounting_year_start_month: int = 7
    cutoffs: tuple[str, ...] = ("01-31", "04-30", "07-31", "09-30", "11-30")
    person_units: tuple[str, ...] = ("Personen",)
    secondary_label: str = "."


@dataclass(frozen=True)
class Programme:
    id: str
    name: str
    ministry: str
    start: date
    end: date
    project_years: int
    project_year_start_month: int
    quarters_per_year: int
    deadline_months_after_quarter: int
    money: Money
    cost_kinds: dict[str, str]
    ags_pattern: str
    population_alone_min: int
    population_max: int
    population_verbund_min: int
    suppress_below: int
    suppressed_label: str
    indicators: tuple[Indicator, ...]
    limits: Limits
    digest: str
    amif: Amif = Amif()


@dataclass(frozen=True)
class FieldSpec:
    """A single-cell input, addressed by a workbook-scoped defined name."""

    name: str
    sheet: str
    section: str
    type: str
    label: str
    help: str
    required: bool = False
    required_in_quarters: tuple[int, ...] = ()
    locked: bool = False
    prefill: str | None = None
    min: Decimal | None = None
    max: Decimal | None = None
    min_exclusive: bool = False
    max_length: int | None = None
    choices: tuple[str, ...] = ()
    multiline: bool = False
    aggregate: str = "sum"

    @property
    def figure(self) -> str | None:
        """The kennzahl this field feeds (int inputs only), e.g. TN_GESAMT -> tn_gesamt."""
        return self.name.lower() if self.type == "int" and not self.prefill else None

    def is_required(self, quarter: int | None) -> bool:
        return self.required or (quarter is not None and quarter in self.required_in_quarters)


@dataclass(frozen=True)
class ColumnSpec:
    """One column of an Excel table; `table` is the table's name."""

    name: str
    table: str
    sheet: str
    type: str
    help: str
    required: bool = False
    min: Decimal | None = None
    max: Decimal | None = None
    min_exclusive: bool = False
    max_length: int | None = None
    choices: tuple[str, ...] = ()
    in_quarter: bool = False
    first_of_month: bool = False
    width: int = 14

    @property
    def label(self) -> str:
        return self.name


@dataclass(frozen=True)
class Comparison:
    small: str
    large: str
    at: str


@dataclass(frozen=True)
class SumCheck:
    total: str
    parts: tuple[str, ...]
    label: str


@dataclass(frozen=True)
class TableSpec:
    name: str
    sheet: str
    label: str
    help: str
    rows: int
    columns: tuple[ColumnSpec, ...]
    unique: tuple[str, ...] = ()
    row_comparisons: tuple[Comparison, ...] = ()

    def column(self, name: str) -> ColumnSpec:
        return next(c for c in self.columns if c.name == name)


@dataclass(frozen=True)
class SheetSpec:
    name: str
    kind: str


@dataclass(frozen=True)
class TemplateSpec:
    id: str
    version: str
    title: str
    sheets: tuple[SheetSpec, ...]
    fields: tuple[FieldSpec, ...]
    tables: tuple[TableSpec, ...]
    comparisons: tuple[Comparison, ...]
    sums: tuple[SumCheck, ...]
    roles: dict[str, str] = field(default_factory=dict, compare=False)
    digest: str = field(default="", compare=False)

    def __reduce_ex__(self, protocol):  # type: ignore[override]
        """Pickled by reference (version and digest): every checked file carries its spec,
        and 14 KB of spec per result would dominate the result cache and the worker pipes."""
        try:
            same = bool(self.digest) and load_template(self.version).digest == self.digest
        except (OSError, KeyError, ValueError):  # not a spec of the spec folder
            same = False
        if same:
            return _spec_by_reference, (self.version, self.digest)
        return object.__reduce_ex__(self, protocol)

    def field(self, name: str) -> FieldSpec:
        return next(f for f in self.fields if f.name == name)

    def table(self, name: str) -> TableSpec:
        return next(t for t in self.tables if t.name == name)

    def fields_on(self, sheet: str) -> list[FieldSpec]:
        return [f for f in self.fields if f.sheet == sheet]

    def tables_on(self, sheet: str) -> list[TableSpec]:
        return [t for t in self.tables if t.sheet == sheet]


def _dec(value: object) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@cache
def load_programme(path: Path = PROGRAMME_FILE) -> Programme:
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    prog, money, reg = raw["programme"], raw["money"], raw["registry"]
    return Programme(
        id=prog["id"],
        name=prog["name"],
        ministry=prog["ministry"],
        start=prog["start"],
        end=prog["end"],
        project_years=prog["project_years"],
        project_year_start_month=prog["project_year_start_month"],
        quarters_per_year=prog["quarters_per_year"],
        deadline_months_after_quarter=prog["deadline_months_after_quarter"],
        money=Money(**{k: Decimal(v) for k, v in money.items()}),
        cost_kinds=dict(raw["cost_kinds"]),
        ags_pattern=reg["ags_pattern"],
        population_alone_min=reg["population_alone_min"],
        population_max=reg["population_max"],
        population_verbund_min=reg["population_verbund_min"],
        suppress_below=raw["publication"]["suppress_below"],
        suppressed_label=raw["publication"]["suppressed_label"],
        indicators=tuple(
            Indicator(i["code"], i["kind"], i["label"], tuple(i["sources"]), i["unit"])
            for i in raw.get("indicators", [])
        ),
        limits=Limits(**raw["limits"]),
        digest=_digest(path),
        amif=_amif(raw.get("amif", {})),
    )


def _amif(raw: dict) -> Amif:
    return Amif(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()})


def _field(raw: dict) -> FieldSpec:
    return FieldSpec(
        name=raw["name"],
        sheet=raw["sheet"],
        section=raw.get("section", ""),
        type=raw["type"],
        label=raw["label"],
        help=raw["help"],
        required=raw.get("required", False),
        required_in_quarters=tuple(raw.get("required_in_quarters", ())),
        locked=raw.get("locked", False),
        prefill=raw.get("prefill"),
        min=_dec(raw.get("min")),
        max=_dec(raw.get("max")),
        min_exclusive=raw.get("min_exclusive", False),
        max_length=raw.get("max_length"),
        choices=tuple(raw.get("choices", ())),
        multiline=raw.get("multiline", False),
        aggregate=raw.get("aggregate", "sum"),
    )


def _table(raw: dict) -> TableSpec:
    columns = tuple(
        ColumnSpec(
            name=c["name"],
            table=raw["name"],
            sheet=raw["sheet"],
            type=c["type"],
            help=c["help"],
            required=c.get("required", False),
            min=_dec(c.get("min")),
            max=_dec(c.get("max")),
            min_exclusive=c.get("min_exclusive", False),
            max_length=c.get("max_length"),
            choices=tuple(c.get("choices", ())),
            in_quarter=c.get("in_quarter", False),
            first_of_month=c.get("first_of_month", False),
            width=c.get("width", 14),
        )
        for c in raw["columns"]
    )
    return TableSpec(
        name=raw["name"],
        sheet=raw["sheet"],
        label=raw["label"],
        help=raw["help"],
        rows=raw.get("rows", 10),
        columns=columns,
        unique=tuple(raw.get("unique", ())),
        row_comparisons=tuple(Comparison(**c) for c in raw.get("row_comparisons", ())),
    )


def _spec_by_reference(version: str, digest: str) -> TemplateSpec:
    spec = load_template(version)
    if spec.digest != digest:  # the spec file changed since: this pickle is stale
        raise pickle.UnpicklingError(f"vorlage_v{version}.toml changed")
    return spec


def template_versions() -> list[str]:
    """All template versions this program can read, oldest first."""
    names = sorted(SPEC_DIR.glob("vorlage_v*.toml"), key=lambda p: int(p.stem.split("_v")[1]))
    return [p.stem.split("_v")[1] for p in names]


@cache
def load_template(version: str | None = None) -> TemplateSpec:
    """The template spec of `version` (default: the newest)."""
    version = version or template_versions()[-1]
    path = SPEC_DIR / f"vorlage_v{version}.toml"
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    return TemplateSpec(
        id=raw["template"]["id"],
        version=raw["template"]["version"],
        title=raw["template"]["title"],
        sheets=tuple(SheetSpec(**s) for s in raw["sheets"]),
        fields=tuple(_field(f) for f in raw["fields"]),
        tables=tuple(_table(t) for t in raw["tables"]),
        comparisons=tuple(Comparison(**c) for c in raw.get("comparisons", ())),
        sums=tuple(
            SumCheck(s["total"], tuple(s["parts"]), s["label"]) for s in raw.get("sums", ())
        ),
        roles=dict(raw.get("roles", {})),
        digest=_digest(path),
    )
