"""The funding rules as they were written before `quarter_figures` (one QuarterResult per
quarter, built step by step): kept as the test oracle for `pipeline.funding` and for the
aggregation's reference (`tests/reference_aggregate.py`), so neither checks the fast code
against itself."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from pipeline.funding import CumulativeCap, QuarterInput, QuarterResult
from pipeline.money import ZERO, cents
from pipeline.periods import Period, all_periods
from pipeline.spec import Programme


def compute(prog: Programme, approval: Decimal,
            reported: Mapping[Period, QuarterInput]) -> list[QuarterResult]:
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
        staff_cap = staff_caps.setdefault(period.projektjahr,
                                          CumulativeCap(money.staff_cap_per_year))
        given = reported.get(period, QuarterInput())
        staff, fee, volunteer = cents(given.staff), cents(given.fee), cents(given.volunteer)
        eligible = (staff_cap.take(staff), fee_cap.take(fee), volunteer_cap.take(volunteer))
        direct = sum(eligible, ZERO)
        flat = cents(money.flat_rate * direct)
        total = direct + flat
        grant = funding_cap.take(cents(money.funding_rate * total))
        eu = min(cents(money.eu_rate * total), grant)
        results.append(QuarterResult(
            period=period, personal_gemeldet=staff, personal_foerderfaehig=eligible[0],
            honorar_gemeldet=fee, honorar_foerderfaehig=eligible[1],
            ehrenamt_gemeldet=volunteer, ehrenamt_foerderfaehig=eligible[2],
            direkt_foerderfaehig=direct, restkostenpauschale=flat,
            foerderfaehig_gesamt=total, zuwendung=grant, eigenanteil=total - grant,
            eu_anteil=eu, land_anteil=grant - eu))
    return results
