"""Suppression of small person counts: primary "<3", secondary so nothing reveals them.

The structure is the AMIF sheet's: twelve quarters; Projektjahre PJ1–PJ3 (4 quarters
each), EU accounting years GJ0 = PJ1 Q1–Q3, GJ1 = PJ1 Q4 + PJ2 Q1–Q3, GJ2 = PJ2 Q4 +
PJ3 Q1–Q3, GJ3 = PJ3 Q4, and the total. PJ and GJ overlap, so a cell hidden in one
grouping can often be worked out through the other one.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.outputs.suppress import PRIMARY, SECONDARY, Cell, protect

GROUPS = {"PJ1": range(0, 4), "PJ2": range(4, 8), "PJ3": range(8, 12),
          "GJ0": range(0, 3), "GJ1": range(3, 7), "GJ2": range(7, 11), "GJ3": range(11, 12),
          "T": range(0, 12)}


def cells(quarters: list[int]) -> list[Cell]:
    return [Cell(k, frozenset(r), sum(quarters[i] for i in r)) for k, r in GROUPS.items()]


def q(**values: int) -> list[int]:
    out = [0] * 12
    for name, v in values.items():
        out[int(name[1:])] = v
    return out


def test_nothing_small_nothing_hidden():
    assert protect(cells([10] * 12), 3) == {}


def test_small_cells_are_primary():
    state = protect(cells(q(q0=1)), 3)
    # PJ1 = GJ0 = total = 1, every other cell 0: all three "<3", nothing else needed
    assert state == {"PJ1": PRIMARY, "GJ0": PRIMARY, "T": PRIMARY}


def test_total_is_hidden_when_it_would_reveal_a_primary():
    # PJ1 = GJ0 = 2, PJ2 = GJ1 = 5, total 7: 7 − 5 would give the 2
    state = protect(cells(q(q0=2, q4=5)), 3)
    assert state == {"PJ1": PRIMARY, "GJ0": PRIMARY, "T": SECONDARY}


def test_overlapping_groupings_are_audited():
    # PJ1 = 2 only through Q4; GJ0 = 0. The chain GJ3, PJ3, GJ2, PJ2, GJ1 would reveal PJ1
    # if only the total were hidden, so a cell of the chain is hidden instead.
    values = q(q3=2, q4=3, q5=3, q6=3, q8=4, q9=4, q10=4, q11=4)
    state = protect(cells(values), 3)
    assert state["PJ1"] == PRIMARY and SECONDARY in state.values()
    assert not _disclosed_by_brute_force(values, state)


def test_two_primaries_with_a_known_sum_get_a_secondary():
    # PJ1 = 1 and PJ2 = 1 with total 12 and PJ3 = 10 published: 12 − 10 = 2 = 1 + 1
    values = q(q0=1, q4=1, q8=10)
    state = protect(cells(values), 3)
    assert state["PJ1"] == state["PJ2"] == PRIMARY
    assert SECONDARY in state.values()
    assert not _disclosed_by_brute_force(values, state)


# The twelve quarters only enter through six chain pieces (PJ1 Q1–3, PJ1 Q4, PJ2 Q1–3, …);
# each cell is the sum of some pieces. In chain order, a cell is known once its last
# piece is chosen, which lets the enumeration prune early.
PIECES = [range(0, 3), range(3, 4), range(4, 7), range(7, 8), range(8, 11), range(11, 12)]
CELL_PIECES = {"GJ0": (0,), "PJ1": (0, 1), "GJ1": (1, 2), "PJ2": (2, 3), "GJ2": (3, 4),
               "PJ3": (4, 5), "GJ3": (5,), "T": (0, 1, 2, 3, 4, 5)}


def _disclosed_by_brute_force(quarters: list[int], state: dict) -> bool:
    """Independent check: enumerate every whole-number split into chain pieces that
    reproduces the published cells and fits the labels ("<3": 1–2; secondary: 0 or ≥ 3);
    a primary cell is disclosed if it takes a single value across all of them."""
    published = {c.key: c.value for c in cells(quarters) if c.key not in state}
    bound = sum(quarters) + 6
    seen: dict[str, set[int]] = {k: set() for k, v in state.items() if v == PRIMARY}

    def fits(key: str, value: int) -> bool:
        kind = state.get(key)
        if kind is None:
            return published[key] == value
        return 0 < value < 3 if kind == PRIMARY else not 0 < value < 3

    def walk(chosen: list[int]) -> None:
        n = len(chosen)
        for key, parts in CELL_PIECES.items():
            if max(parts) == n - 1 and not fits(key, sum(chosen[i] for i in parts)):
                return
        if n == len(PIECES):
            for key in seen:
                seen[key].add(sum(chosen[i] for i in CELL_PIECES[key]))
            return
        for value in range(bound):
            walk([*chosen, value])

    walk([])
    return any(len(v) < 2 for v in seen.values())


def test_the_independent_check_sees_a_disclosure():
    values = q(q0=1, q4=1, q8=10)
    primary_only = {c.key: PRIMARY for c in cells(values) if 0 < c.value < 3}
    assert _disclosed_by_brute_force(values, primary_only)
    assert _disclosed_by_brute_force(q(q0=2, q4=5), {"PJ1": PRIMARY, "GJ0": PRIMARY})


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from([0, 0, 0, 1, 2, 3, 5]), min_size=12, max_size=12))
def test_no_primary_can_be_worked_out(quarters):
    state = protect(cells(quarters), 3)
    small = {c.key for c in cells(quarters) if 0 < c.value < 3}
    assert {k for k, v in state.items() if v == PRIMARY} == small
    assert not _disclosed_by_brute_force(quarters, state)
