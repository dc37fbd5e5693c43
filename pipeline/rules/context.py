"""What a rule sees: one submission, or all submissions of one application."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from pipeline.periods import Period, quarter_end, quarter_start
from pipeline.read.submission import Submission
from pipeline.spec import Programme, TemplateSpec


@dataclass(frozen=True)
class Context:
    sub: Submission
    spec: TemplateSpec
    prog: Programme
    known_ags: frozenset[str] | None = None  # None: no registry given

    @cached_property
    def columns(self) -> list:
        """Every read value by field and table column (computed once, used by many rules)."""
        from pipeline.rules.items import all_columns

        return all_columns(self)

    @cached_property
    def by_table(self) -> dict[str, dict]:
        """The table columns: table name -> column name -> Column."""
        from pipeline.rules.items import columns_by_table

        return columns_by_table(self)

    @cached_property
    def flagged(self) -> list:
        """The values that are blank or carry a problem, a formula or a note."""
        from pipeline.rules.items import flagged_items

        return flagged_items(self)

    @property
    def period(self) -> Period | None:
        pj, q = self.sub.projektjahr, self.sub.quartal
        if pj is None or q is None:
            return None
        if not (1 <= pj <= self.prog.project_years and 1 <= q <= self.prog.quarters_per_year):
            return None
        return Period(pj, q)

    def quarter_bounds(self):
        period = self.period
        if period is None:
            return None
        return quarter_start(self.prog, period), quarter_end(self.prog, period)


@dataclass(frozen=True)
class SubmissionRef:
    """One submission of an application as seen by cross-quarter rules."""

    datei: str
    sha256: str
    period: Period
    sub: Submission


@dataclass(frozen=True)
class AppContext:
    ags: str
    prog: Programme
    submissions: list[SubmissionRef] = field(default_factory=list)
