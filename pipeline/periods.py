"""Projektjahre, quarters and deadlines, all derived from the programme spec."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date

from pipeline.spec import Programme


@dataclass(frozen=True, order=True)
class Period:
    """One quarter of a Projektjahr (PJ n, Q q)."""

    projektjahr: int
    quartal: int

    @property
    def label(self) -> str:
        return f"PJ{self.projektjahr} Q{self.quartal}"


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


def quarter_start(prog: Programme, period: Period) -> date:
    months = (period.projektjahr - 1) * 12 + (period.quartal - 1) * 3
    year, month = _add_months(prog.start.year, prog.project_year_start_month, months)
    return date(year, month, 1)


def quarter_end(prog: Programme, period: Period) -> date:
    year, month = _add_months(*_ym(quarter_start(prog, period)), 2)
    return date(year, month, calendar.monthrange(year, month)[1])


def deadline(prog: Programme, period: Period) -> date:
    """Last day of the n-th month after the quarter's end."""
    end = quarter_end(prog, period)
    year, month = _add_months(end.year, end.month, prog.deadline_months_after_quarter)
    return date(year, month, calendar.monthrange(year, month)[1])


def _ym(day: date) -> tuple[int, int]:
    return day.year, day.month


def all_periods(prog: Programme) -> list[Period]:
    return [
        Period(pj, q)
        for pj in range(1, prog.project_years + 1)
        for q in range(1, prog.quarters_per_year + 1)
    ]


def period_of(prog: Programme, day: date) -> Period | None:
    """The quarter containing `day`, or None outside the project period."""
    if not prog.start <= day <= prog.end:
        return None
    months = (day.year - prog.start.year) * 12 + day.month - prog.start.month
    return Period(months // 12 + 1, (months % 12) // 3 + 1)


def is_valid_period(prog: Programme, projektjahr: int, quartal: int) -> bool:
    return 1 <= projektjahr <= prog.project_years and 1 <= quartal <= prog.quarters_per_year


def german_date(day: date) -> str:
    return day.strftime("%d.%m.%Y")
