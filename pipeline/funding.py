"""The funding arithmetic of one application, quarter by quarter, in pure Decimal.

Rules (docs: domain.md "Money"/"Consequences", contract.md section 4 "Arithmetic"); every
cap and rate comes from `Programme.money`:

- staff: capped per Projektjahr; the cumulation restarts with each PJ.
- fees and volunteer expenses: capped over the whole project, first come first served.
- Restkostenpauschale = flat rate × eligible direct costs, rounded per quarter.
- zuwendung = funding rate × foerderfaehig_gesamt (rounded per quarter), cumulatively capped
  at the application's approval; eu_anteil = min(eu rate × foerderfaehig_gesamt, zuwendung);
  land_anteil and eigenanteil are the differences.

A cumulative cap is applied in *increment form*: a quarter gets
min(cumulative up to it, cap) − min(cumulative up to the previous quarter, cap), so the
eligible quarters of a PJ or of the project add up exactly to min(total, cap) and no later
correction of an earlier quarter is ever needed.

Decisions:
- Every amount is rounded to the cent at the quarter (reported inputs too, in case a caller
  hands in sub-cent sums); PJ, project and all-application figures are sums of quarter rows
  (`sum_results`), so every level reconciles to the cent.
- Negative reported amounts cannot occur (validation rejects them); if one is passed anyway it
  is used as given: the increment form then yields a negative increment, nothing crashes and
  the identities (zuwendung + eigenanteil = foerderfaehig_gesamt, eu + land = zuwendung) still
  hold. The approval is trusted likewise (the registry checks 0 ≤ approval ≤ max_approval).
- A period that is not a quarter of the programme is a caller bug and raises ValueError.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from pipeline.money import ZERO, cents
from pipeline.periods import Period, all_periods
from pipeline.spec import Programme

# Figure names in output order; also the `kennzahl` values of kennzahlen.csv.
FIGURES: tuple[str, ...] = (
    "personal_gemeldet",
    "personal_foerderfaehig",
    "honorar_gemeldet",
    "honorar_foerderfaehig",
    "ehrenamt_gemeldet",
    "ehrenamt_foerderfaehig",
    "direkt_foerderfaehig",
    "restkostenpauschale",
    "foerderfaehig_gesamt",
    "zuwendung",
    "eigenanteil",
    "eu_anteil",
    "land_anteil",
)


@dataclass(frozen=True)
class QuarterInput:
    """Reported amounts of one quarter: eligible staff cost after the per-row Projektanteil,
    fees and volunteer expenses summed from the receipts list."""

    staff: Decimal = ZERO
    fee: Decimal = ZERO
    volunteer: Decimal = ZERO


@dataclass(frozen=True)
class QuarterResult:
    period: Period
    personal_gemeldet: Decimal
    personal_foerderfaehig: Decimal
    honorar_gemeldet: Decimal
    honorar_foerderfaehig: Decimal
    ehrenamt_gemeldet: Decimal
    ehrenamt_foerderfaehig: Decimal
    direkt_foerderfaehig: Decimal
    restkostenpauschale: Decimal
    foerderfaehig_gesamt: Decimal
    zuwendung: Decimal
    eigenanteil: Decimal
    eu_anteil: Decimal
    land_anteil: Decimal

    def as_dict(self) -> dict[str, Decimal]:
        """The figures keyed by their FIGURES names (without the period)."""
        return {name: getattr(self, name) for name in FIGURES}


class Reported(Protocol):
    """What `quarter_figures` reads of a quarter's report (QuarterInput, Facts)."""

    staff: Decimal
    fee: Decimal
    volunteer: Decimal


class CumulativeCap:
    """Hands out the eligible part of successive amounts under one cumulative cap."""

    def __init__(self, cap: Decimal) -> None:
        self.cap = cap
        self.reported = ZERO

    def take(self, amount: Decimal) -> Decimal:
        before = min(self.reported, self.cap)
        self.reported += amount
        return min(self.reported, self.cap) - before


def compute(
    prog: Programme, approval: Decimal, reported: Mapping[Period, QuarterInput]
) -> list[QuarterResult]:
    """One QuarterResult per programme quarter, chronological; missing quarters count as zero."""
    return [QuarterResult(period, *values) for period, values
            in zip(all_periods(prog), quarter_figures(prog, approval, reported), strict=True)]


def quarter_figures(
    prog: Programme, approval: Decimal, reported: Mapping[Period, Reported]
) -> list[tuple[Decimal, ...]]:
    """`compute` as plain tuples in FIGURES order, one per programme quarter (what the
    aggregation needs, without a dataclass per quarter). `reported` maps a quarter to
    anything with `staff`, `fee` and `volunteer` (a QuarterInput or the quarter's Facts)."""
    periods = all_periods(prog)
    unknown = set(reported) - set(periods)
    if unknown:
        raise ValueError(f"periods outside the programme: {sorted(unknown)}")
    money = prog.money
    fee_cap = CumulativeCap(money.fee_cap_total)
    volunteer_cap = CumulativeCap(money.volunteer_cap_total)
    funding_cap = CumulativeCap(cents(approval))
    staff_caps: dict[int, CumulativeCap] = {}  # the staff cap restarts with each PJ
    flat_rate, funding_rate, eu_rate = money.flat_rate, money.funding_rate, money.eu_rate
    results = []
    for period in periods:
        staff_cap = staff_caps.get(period.projektjahr)
        if staff_cap is None:
            staff_cap = staff_caps[period.projektjahr] = CumulativeCap(money.staff_cap_per_year)
        given = reported.get(period)
        if given is None:
            staff = fee = volunteer = ZERO
        else:
            staff, fee, volunteer = cents(given.staff), cents(given.fee), cents(given.volunteer)
        eligible_staff = staff_cap.take(staff)
        eligible_fee = fee_cap.take(fee)
        eligible_volunteer = volunteer_cap.take(volunteer)
        direct = ZERO + eligible_staff + eligible_fee + eligible_volunteer
        flat = cents(flat_rate * direct)
        total = direct + flat
        grant = funding_cap.take(cents(funding_rate * total))
        eu = min(cents(eu_rate * total), grant)
        results.append((staff, eligible_staff, fee, eligible_fee, volunteer, eligible_volunteer,
                        direct, flat, total, grant, total - grant, eu, grant - eu))
    return results


def sum_results(results: Iterable[QuarterResult]) -> dict[str, Decimal]:
    """Sum of quarter rows, figure by figure: the PJ, project and GESAMT levels."""
    totals = dict.fromkeys(FIGURES, ZERO)
    for result in results:
        for name in FIGURES:
            totals[name] += getattr(result, name)
    return totals


def by_projektjahr(results: Iterable[QuarterResult]) -> dict[int, dict[str, Decimal]]:
    """PJ level: {projektjahr: sums of its quarter rows}."""
    grouped: dict[int, list[QuarterResult]] = {}
    for result in results:
        grouped.setdefault(result.period.projektjahr, []).append(result)
    return {pj: sum_results(rows) for pj, rows in sorted(grouped.items())}

