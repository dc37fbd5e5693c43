"""Plain data the workbook generator takes: who the workbook is for and what to fill in."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from pipeline.periods import Period, is_valid_period, quarter_end, quarter_start
from pipeline.spec import Programme, TemplateSpec


@dataclass(frozen=True)
class Identity:
    """The application and quarter a workbook is prefilled for."""

    ags: str
    name: str
    projektjahr: int
    quartal: int

    @property
    def period(self) -> Period:
        return Period(self.projektjahr, self.quartal)


@dataclass(frozen=True)
class Formula:
    """A formula as a clerk might type it. `cached=None` writes an empty cached value, as
    openpyxl-made files have it; otherwise `cached` is stored as the last computed result."""

    text: str
    cached: object | None = None


@dataclass
class WorkbookData:
    """Input values written raw, exactly as given (wrong types included, for tests).

    values: defined name -> value; rows: table name -> rows of column name -> value;
    cells: (sheet, "A1") -> value for anything outside names and tables (e.g. a row typed
    below a table that did not grow).
    """

    values: dict[str, object] = field(default_factory=dict)
    rows: dict[str, list[dict[str, object]]] = field(default_factory=dict)
    cells: dict[tuple[str, str], object] = field(default_factory=dict)


@dataclass(frozen=True)
class BuildContext:
    """Everything a sheet writer needs to know besides the data."""

    spec: TemplateSpec
    prog: Programme
    identity: Identity | None

    def __post_init__(self) -> None:
        ident = self.identity
        if ident is not None and not is_valid_period(self.prog, ident.projektjahr, ident.quartal):
            raise ValueError(f"no such quarter: PJ{ident.projektjahr} Q{ident.quartal}")

    @property
    def period(self) -> Period | None:
        return None if self.identity is None else self.identity.period

    @property
    def date_range(self) -> tuple[date, date]:
        """Dates allowed in the lists: the quarter, or the whole project when blank."""
        if self.period is None:
            return self.prog.start, self.prog.end
        return quarter_start(self.prog, self.period), quarter_end(self.prog, self.period)

    def prefill(self, key: str | None) -> object | None:
        """The value a `prefill` key of the spec stands for (None for a blank template)."""
        if key is None:
            return None
        fixed = {"template_id": self.spec.id, "template_version": self.spec.version}
        if key in fixed:
            return fixed[key]
        if key not in Identity.__dataclass_fields__:
            raise ValueError(f"unknown prefill key in spec: {key}")
        return None if self.identity is None else getattr(self.identity, key)
