"""Funding arithmetic: every cap boundary to the cent, worked out by hand, plus properties.

Hand calculations use the programme values checked in `test_spec_values_behind_hand_math`:
staff cap 65,888.69 €/PJ, fees 10,000 €, volunteers 18,000 €, flat rate 40 %, funding 92 %,
EU 90 %, maximum approval 290,657.90 €. Expected figures are written as explicit Decimal
expressions from those values, with the arithmetic in comments; none is copied from output.
"""

from __future__ import annotations

from dataclasses import fields
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.funding import (
    FIGURES,
    QuarterInput,
    QuarterResult,
    by_projektjahr,
    compute,
    sum_results,
)
from pipeline.money import cents
from pipeline.periods import Period, all_periods
from pipeline.spec import load_programme
from tests import reference_funding as reference

PROG = load_programme()
M = PROG.money
STAFF_CAP, FEE_CAP, VOL_CAP = M.staff_cap_per_year, M.fee_cap_total, M.volunteer_cap_total
MAX = M.max_approval
P = Period


def run(reported: dict[Period, QuarterInput], approval: D = MAX) -> dict[Period, QuarterResult]:
    return {r.period: r for r in compute(PROG, approval, reported)}


def staff(*amounts: str, pj: int = 1) -> dict[Period, QuarterInput]:
    return {P(pj, q): QuarterInput(staff=D(a)) for q, a in enumerate(amounts, start=1)}


def test_spec_values_behind_hand_math() -> None:
    assert (STAFF_CAP, FEE_CAP, VOL_CAP) == (D("65888.69"), D("10000"), D("18000"))
    assert (M.flat_rate, M.funding_rate, M.eu_rate) == (D("0.40"), D("0.92"), D("0.90"))
    assert MAX == D("290657.90")


def test_figures_match_result_fields_and_as_dict() -> None:
    assert FIGURES == tuple(f.name for f in fields(QuarterResult) if f.name != "period")
    result = compute(PROG, MAX, {})[0]
    assert tuple(result.as_dict()) == FIGURES


def test_nothing_received_gives_zero_rows_for_every_quarter() -> None:
    results = compute(PROG, MAX, {})
    assert [r.period for r in results] == all_periods(PROG)
    assert all(v == 0 for r in results for v in r.as_dict().values())


def test_period_outside_programme_is_a_caller_bug() -> None:
    with pytest.raises(ValueError):
        compute(PROG, MAX, {P(PROG.project_years + 1, 1): QuarterInput()})


# --- staff cap per Projektjahr ------------------------------------------------------------

def test_staff_exactly_at_cap() -> None:
    # 3 × 16,472.17 = 49,416.51; 65,888.69 − 49,416.51 = 16,472.18 -> sum exactly the cap
    res = run(staff("16472.17", "16472.17", "16472.17", "16472.18"))
    assert [res[P(1, q)].personal_foerderfaehig for q in (1, 2, 3, 4)] == [
        D("16472.17"), D("16472.17"), D("16472.17"), D("16472.18")
    ]
    assert by_projektjahr(res.values())[1]["personal_foerderfaehig"] == STAFF_CAP


def test_staff_one_cent_over_cap() -> None:
    # reported 49,416.51 + 16,472.19 = 65,888.70; Q4 eligible = 65,888.69 − 49,416.51
    res = run(staff("16472.17", "16472.17", "16472.17", "16472.19"))
    assert res[P(1, 4)].personal_gemeldet == D("16472.19")
    assert res[P(1, 4)].personal_foerderfaehig == D("16472.18")
    pj1 = by_projektjahr(res.values())[1]
    assert pj1["personal_gemeldet"] == STAFF_CAP + D("0.01")
    assert pj1["personal_foerderfaehig"] == STAFF_CAP


def test_staff_cap_crossed_in_q3() -> None:
    # cumulative 30,000 / 60,000 / 90,000 / 95,000
    # Q3 = min(90,000, cap) − min(60,000, cap) = 65,888.69 − 60,000 = 5,888.69; Q4 = 0
    res = run(staff("30000", "30000", "30000", "5000"))
    assert res[P(1, 3)].personal_foerderfaehig == STAFF_CAP - D("60000") == D("5888.69")
    assert res[P(1, 4)].personal_foerderfaehig == D("0")
    assert res[P(1, 4)].personal_gemeldet == D("5000")


def test_staff_cap_restarts_each_projektjahr() -> None:
    reported = {
        P(1, 4): QuarterInput(staff=D("70000")),
        P(2, 1): QuarterInput(staff=D("70000")),
        P(2, 2): QuarterInput(staff=D("1")),
    }
    res = run(reported)
    assert res[P(1, 4)].personal_foerderfaehig == STAFF_CAP
    assert res[P(2, 1)].personal_foerderfaehig == STAFF_CAP  # new PJ, new cap
    assert res[P(2, 2)].personal_foerderfaehig == D("0")  # PJ2 cap used up in Q1


# --- project-wide caps ----------------------------------------------------------------------

def test_fee_cap_crossed_across_projektjahre() -> None:
    # cumulative 6,000 / 9,000 / 11,500 / 11,900
    # PJ2 Q2 = min(11,500, 10,000) − min(9,000, 10,000) = 1,000; PJ3 Q1 = 0
    reported = {
        P(1, 4): QuarterInput(fee=D("6000")),
        P(2, 1): QuarterInput(fee=D("3000")),
        P(2, 2): QuarterInput(fee=D("2500")),
        P(3, 1): QuarterInput(fee=D("400")),
    }
    res = run(reported)
    assert [res[p].honorar_foerderfaehig for p in reported] == [
        D("6000"), D("3000"), FEE_CAP - D("9000"), D("0")
    ]
    assert res[P(2, 2)].honorar_gemeldet == D("2500")
    assert sum_results(res.values())["honorar_foerderfaehig"] == FEE_CAP


def test_volunteer_cap_last_cent() -> None:
    # 17,999.99 then 0.02: only 18,000 − 17,999.99 = 0.01 is eligible
    reported = {
        P(1, 1): QuarterInput(volunteer=D("17999.99")),
        P(3, 4): QuarterInput(volunteer=D("0.02")),
    }
    res = run(reported)
    assert res[P(3, 4)].ehrenamt_foerderfaehig == VOL_CAP - D("17999.99") == D("0.01")
    assert sum_results(res.values())["ehrenamt_foerderfaehig"] == VOL_CAP


# --- rounding --------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("direct", "flat"),
    [
        # 0.40 × whole cents is a multiple of 0.4 cent, so an exact half cent cannot occur;
        # these are the neighbours of the half: .4 rounds down, .6 and .8 round up.
        ("1.01", "0.40"),  # 0.404
        ("1.02", "0.41"),  # 0.408
        ("1.03", "0.41"),  # 0.412
        ("1.04", "0.42"),  # 0.416
        ("10.01", "4.00"),  # 4.004
    ],
)
def test_flat_rate_rounded_per_quarter(direct: str, flat: str) -> None:
    res = run({P(1, 1): QuarterInput(fee=D(direct))})[P(1, 1)]
    assert res.restkostenpauschale == D(flat)
    assert res.foerderfaehig_gesamt == D(direct) + D(flat)


def test_flat_rate_rounded_at_quarter_not_at_year() -> None:
    # two quarters of 1.01: 0.40 + 0.40 = 0.80, whereas 0.4 × 2.02 = 0.808 would be 0.81
    res = run({P(1, 1): QuarterInput(fee=D("1.01")), P(1, 2): QuarterInput(fee=D("1.01"))})
    assert by_projektjahr(res.values())[1]["restkostenpauschale"] == D("0.80")


def test_exact_half_cent_rounds_up() -> None:
    # 92 % of whole cents is never an exact half cent (46·n is even, a half needs odd), but
    # 90 % is: fee 0.75 -> Pauschale 0.30 -> gesamt 1.05
    # zuwendung 0.92 × 1.05 = 0.966 -> 0.97; EU 0.90 × 1.05 = 0.945 -> 0.95 (half-even: 0.94)
    res = run({P(1, 1): QuarterInput(fee=D("0.75"))})[P(1, 1)]
    assert res.foerderfaehig_gesamt == D("1.05")
    assert (res.zuwendung, res.eu_anteil, res.land_anteil) == (D("0.97"), D("0.95"), D("0.02"))
    assert res.eigenanteil == D("1.05") - D("0.97")


def test_funding_shares_rounded() -> None:
    # fee 1.01 -> Pauschale 0.40 -> gesamt 1.41; 0.92 × 1.41 = 1.2972 -> 1.30;
    # 0.90 × 1.41 = 1.269 -> 1.27; Land 1.30 − 1.27 = 0.03; Eigenanteil 1.41 − 1.30 = 0.11
    res = run({P(1, 1): QuarterInput(fee=D("1.01"))})[P(1, 1)]
    assert (res.zuwendung, res.eu_anteil, res.land_anteil, res.eigenanteil) == (
        D("1.30"), D("1.27"), D("0.03"), D("0.11")
    )


# --- approval cap ----------------------------------------------------------------------------

def test_approval_cap_reached_mid_project() -> None:
    # each quarter: direct 5,000 + Pauschale 2,000 = 7,000; raw 0.92 × 7,000 = 6,440
    # Q1: 6,440 (EU 0.9 × 7,000 = 6,300, Land 140)
    # Q2: min(12,880, 10,000) − 6,440 = 3,560; EU = min(6,300, 3,560) = 3,560, Land 0
    # Q3: min(19,320, 10,000) − min(12,880, 10,000) = 0; Eigenanteil 7,000
    approval = D("10000.00")
    reported = {
        P(1, 1): QuarterInput(fee=D("5000")),
        P(1, 2): QuarterInput(staff=D("5000")),
        P(1, 3): QuarterInput(staff=D("5000")),
    }
    res = run(reported, approval)
    q1, q2, q3 = (res[p] for p in reported)
    assert (q1.zuwendung, q1.eu_anteil, q1.land_anteil) == (D("6440"), D("6300"), D("140"))
    assert (q2.zuwendung, q2.eu_anteil, q2.land_anteil) == (D("3560"), D("3560"), D("0"))
    assert q2.eigenanteil == D("7000") - D("3560")
    assert (q3.zuwendung, q3.eu_anteil, q3.eigenanteil) == (D("0"), D("0"), D("7000"))
    assert sum_results(res.values())["zuwendung"] == approval


def test_full_programme_maximum() -> None:
    # staff cap in PJ1 Q4 and PJ3 Q4; PJ2 split 32,944.31 + 32,944.38 = 65,888.69
    # PJ1 Q2 fees 10,000:       Pauschale 4,000      gesamt 14,000.00  raw 12,880.00
    # PJ1 Q4 staff 65,888.69:   0.4× = 26,355.476 -> 26,355.48  gesamt 92,244.17
    #                           raw 0.92 × 92,244.17 = 84,864.6364 -> 84,864.64
    # PJ2 Q1 staff 32,944.31:   13,177.724 -> 13,177.72  gesamt 46,122.03
    #                           raw 42,432.2676 -> 42,432.27
    # PJ2 Q2 staff 32,944.38:   13,177.752 -> 13,177.75  gesamt 46,122.13
    #                           raw 42,432.3596 -> 42,432.36
    # PJ3 Q1 volunteers 18,000: 7,200  gesamt 25,200.00  raw 23,184.00
    # PJ3 Q4 staff 65,888.69:   gesamt 92,244.17, raw 84,864.64
    # Σ gesamt = 14,000 + 2 × 92,244.17 + 46,122.03 + 46,122.13 + 25,200 = 315,932.50
    # Σ raw = 290,657.91 -> the approval cap takes the last cent: PJ3 Q4 = 84,864.63
    reported = {
        P(1, 2): QuarterInput(fee=FEE_CAP),
        P(1, 4): QuarterInput(staff=STAFF_CAP),
        P(2, 1): QuarterInput(staff=D("32944.31")),
        P(2, 2): QuarterInput(staff=D("32944.38")),
        P(3, 1): QuarterInput(volunteer=VOL_CAP),
        P(3, 4): QuarterInput(staff=STAFF_CAP),
    }
    res = run(reported)
    total = sum_results(res.values())
    assert total["direkt_foerderfaehig"] == 3 * STAFF_CAP + FEE_CAP + VOL_CAP
    assert total["foerderfaehig_gesamt"] == D("315932.50")
    assert total["zuwendung"] == MAX == D("290657.90")
    assert total["eigenanteil"] == D("315932.50") - MAX
    assert res[P(3, 4)].zuwendung == D("84864.63")
    # EU PJ3 Q4 = min(0.9 × 92,244.17 = 83,019.753 -> 83,019.75, 84,864.63)
    assert res[P(3, 4)].eu_anteil == D("83019.75")
    assert res[P(3, 4)].land_anteil == D("84864.63") - D("83019.75")


def test_maximum_with_per_quarter_rounding_one_cent_above_derived_total() -> None:
    # staff cap in Q4 of each PJ: the Pauschale 26,355.476 rounds up three times, so
    # Σ gesamt = 14,000 + 25,200 + 3 × 92,244.17 = 315,932.51 (one cent above the derived
    # 315,932.50); Σ raw = 12,880 + 23,184 + 3 × 84,864.64 = 290,657.92, so the approval
    # still caps the grant: PJ3 Q4 = 290,657.90 − (36,064 + 2 × 84,864.64) = 84,864.62
    reported = {
        P(1, 1): QuarterInput(fee=FEE_CAP),
        P(1, 2): QuarterInput(volunteer=VOL_CAP),
        **{P(pj, 4): QuarterInput(staff=STAFF_CAP) for pj in (1, 2, 3)},
    }
    res = run(reported)
    total = sum_results(res.values())
    assert total["foerderfaehig_gesamt"] == D("315932.51")
    assert total["zuwendung"] == MAX
    assert res[P(3, 4)].zuwendung == D("84864.62")


def test_negative_input_does_not_crash_and_identities_hold() -> None:
    res = run({P(1, 1): QuarterInput(staff=D("-100")), P(1, 2): QuarterInput(staff=D("50"))})
    # cumulative −100 / −50: increments −100 and +50 (caps far away)
    assert res[P(1, 1)].personal_foerderfaehig == D("-100")
    assert res[P(1, 2)].personal_foerderfaehig == D("50")
    for r in res.values():
        assert r.zuwendung + r.eigenanteil == r.foerderfaehig_gesamt


# --- reconciliation and properties -------------------------------------------------------------

AMOUNT = st.decimals(min_value=0, max_value=80000, places=2, allow_nan=False)
QUARTER = st.builds(QuarterInput, staff=AMOUNT, fee=AMOUNT, volunteer=AMOUNT)
REPORTED = st.dictionaries(st.sampled_from(all_periods(PROG)), QUARTER)
APPROVAL = st.decimals(min_value=0, max_value=MAX, places=2, allow_nan=False)


def test_levels_reconcile_on_example() -> None:
    res = compute(PROG, MAX, staff("30000", "30000", "30000", "5000") | staff("1", pj=2))
    years = by_projektjahr(res)
    total = sum_results(res)
    for name in FIGURES:
        assert sum(y[name] for y in years.values()) == total[name]
        assert sum(getattr(r, name) for r in res) == total[name]


@settings(max_examples=300, deadline=None)
@given(reported=REPORTED, approval=APPROVAL)
def test_properties(reported: dict[Period, QuarterInput], approval: D) -> None:
    res = compute(PROG, approval, reported)
    total = sum_results(res)
    for r in res:
        assert all(v == v.quantize(D("0.01")) for v in r.as_dict().values())
        assert D(0) <= r.personal_foerderfaehig <= r.personal_gemeldet
        assert D(0) <= r.honorar_foerderfaehig <= r.honorar_gemeldet
        assert D(0) <= r.ehrenamt_foerderfaehig <= r.ehrenamt_gemeldet
        assert r.zuwendung + r.eigenanteil == r.foerderfaehig_gesamt
        assert r.eu_anteil + r.land_anteil == r.zuwendung
        assert D(0) <= r.eu_anteil <= r.zuwendung
    for pj, year in by_projektjahr(res).items():
        reported_pj = sum((q.staff for p, q in reported.items() if p.projektjahr == pj), D(0))
        assert year["personal_foerderfaehig"] == min(reported_pj, STAFF_CAP)
    fees = sum((q.fee for q in reported.values()), D(0))
    volunteers = sum((q.volunteer for q in reported.values()), D(0))
    assert total["honorar_foerderfaehig"] == min(fees, FEE_CAP)
    assert total["ehrenamt_foerderfaehig"] == min(volunteers, VOL_CAP)
    assert total["zuwendung"] <= approval
    raw = sum((cents(r.foerderfaehig_gesamt * M.funding_rate) for r in res), D(0))
    assert total["zuwendung"] == min(raw, approval)
    assert total["zuwendung"] + total["eigenanteil"] == total["foerderfaehig_gesamt"]
    assert total["eu_anteil"] + total["land_anteil"] == total["zuwendung"]
    years = by_projektjahr(res)
    for name in FIGURES:
        assert sum(y[name] for y in years.values()) == total[name]


@settings(max_examples=100, deadline=None)
@given(reported=REPORTED, approval=APPROVAL)
def test_quarter_figures_are_the_results_and_take_a_quarters_facts(
        reported: dict[Period, QuarterInput], approval: D) -> None:
    """The aggregation hands in each quarter's Facts (staff, fee, volunteer and more)."""
    from pipeline.facts import Facts
    from pipeline.funding import quarter_figures

    as_tuples = quarter_figures(PROG, approval, reported)
    # against the step-by-step implementation kept as the oracle (not the wrapper of it)
    expected = reference.compute(PROG, approval, reported)
    assert as_tuples == [tuple(r.as_dict().values()) for r in expected]
    assert compute(PROG, approval, reported) == expected
    facts = {p: Facts(q.staff, q.fee, q.volunteer, {"tn_gesamt": 3}) for p, q in reported.items()}
    assert quarter_figures(PROG, approval, facts) == as_tuples
    with pytest.raises(ValueError):
        quarter_figures(PROG, approval, {P(PROG.project_years + 1, 1): QuarterInput()})
