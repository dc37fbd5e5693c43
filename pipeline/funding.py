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
    periods = all_periods(prog)
    unknown = set(reported) - set(periods)
    if unknown:
        raise ValueError(f"periods outside the programme: {sorted(unknown)}")
    money = prog.money
    fee_cap = CumulativeCap(money.fee_cap_total)
    volunteer_cap = CumulativeCap(money.volunteer_cap_total)
    funding_cap = CumulativeCap(cents(approval))
    staff_caps: dict[int, CumulativeCap] = {}  # the staff cap restarts with each PJ
    results = []
    for period in periods:
        staff_cap = staff_caps.setdefault(
            period.projektjahr, CumulativeCap(money.staff_cap_per_year)
        )
        given = reported.get(period, QuarterInput())
        staff, fee, volunteer = cents(given.staff), cents(given.fee), cents(given.volunteer)
        eligible = (staff_cap.take(staff), fee_cap.take(fee), volunteer_cap.take(volunteer))
        results.append(
            _quarter(prog, period, (staff, fee, volunteer), eligible, funding_cap)
        )
    return results


def _quarter(
    prog: Programme,
    period: Period,
    reported: tuple[Decimal, Decimal, Decimal],
    eligible: tuple[Decimal, Decimal, Decimal],
    funding_cap: CumulativeCap,
) -> QuarterResult:
    money = prog.money
    direct = sum(eligible, ZERO)
    flat = cents(money.flat_rate * direct)
    total = direct + flat
    grant = funding_cap.take(cents(money.funding_rate * total))
    eu = min(cents(money.eu_rate * total), grant)
    return QuarterResult(
        period=period,
        personal_gemeldet=reported[0],
        personal_foerderfaehig=eligible[0],
        honorar_gemeldet=reported[1],
        honorar_foerderfaehig=eligible[1],
        ehrenamt_gemeldet=reported[2],
        ehrenamt_foerderfaehig=eligible[2],
        direkt_foerderfaehig=direct,
        restkostenpauschale=flat,
        foerderfaehig_gesamt=total,
        zuwendung=grant,
        eigenanteil=total - grant,
        eu_anteil=eu,
        land_anteil=grant - eu,
    )


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

