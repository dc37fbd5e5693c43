"""Cell suppression for published person counts (algorithm: docs/reports.md).

A published cell is the sum of some underlying units (quarters). Cells with 1 ≤ value <
`below` are suppressed (primary). Then an audit plays the attacker: it knows every
published value, the range of a primary cell (1 … below−1), that a secondarily suppressed
cell is 0 or ≥ below, that every unit is a whole number ≥ 0, and all linear relations
between the cells (a Projektjahr and the accounting years overlap, both add up to the
total). For every combination of primary values it checks whether the published figures
allow it (exact rational arithmetic); a primary cell whose value is the same in every
allowed combination is disclosed. Then the smallest published cell whose suppression ends
that disclosure is suppressed as well (secondary), and the audit runs again.

Units left undetermined are treated as free; bounds an attacker could get by linear
programming over them are not audited (see docs/reports.md for why that is acceptable).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import product

PRIMARY, SECONDARY = "primary", "secondary"
Vector = list[Fraction]


@dataclass(frozen=True)
class Cell:
    key: Hashable
    units: frozenset[int]
    value: int


def protect(cells: Sequence[Cell], below: int) -> dict[Hashable, str]:
    """{key: PRIMARY | SECONDARY} for every cell that must not be published."""
    state = {c.key: PRIMARY for c in cells if 0 < c.value < below}
    while True:
        exposed = next((c for c in cells if state.get(c.key) == PRIMARY
                        and _disclosed(c, cells, state, below)), None)
        if exposed is None:
            return state
        extra = _secondary(exposed, cells, state, below)
        if extra is None:  # everything suppressed already: nothing left to reveal it
            return state
        state[extra.key] = SECONDARY


def _secondary(exposed: Cell, cells: Sequence[Cell], state: dict[Hashable, str],
               below: int) -> Cell | None:
    """The smallest published cell (zeros last) whose suppression protects `exposed`;
    if no single cell does, the smallest one (the loop then adds more)."""
    candidates = sorted((c for c in cells if c.key not in state),
                        key=lambda c: (c.value == 0, c.value))
    for c in candidates:
        if not _disclosed(exposed, cells, {**state, c.key: SECONDARY}, below):
            return c
    return candidates[0] if candidates else None


def _disclosed(target: Cell, cells: Sequence[Cell], state: dict[Hashable, str],
               below: int) -> bool:
    units = sorted({u for c in cells for u in c.units})
    index = {u: i for i, u in enumerate(units)}

    def vec(c: Cell) -> Vector:
        v = [Fraction(0)] * len(units)
        for u in c.units:
            v[index[u]] = Fraction(1)
        return v

    published = [c for c in cells if c.key not in state]
    primaries = [c for c in cells if state.get(c.key) == PRIMARY]
    secondaries = [c for c in cells if state.get(c.key) == SECONDARY]
    rows = [vec(c) for c in published + primaries]
    unit_vectors = [[Fraction(int(i == j)) for j in range(len(units))]
                    for i in range(len(units))]
    known = _Span(rows)
    # Quantities the attacker can compute: each secondary cell and each unit (if determined).
    derived = [(known.express(vec(c)), True) for c in secondaries]
    derived += [(known.express(u), False) for u in unit_vectors]
    derived = [(coeffs, is_secondary) for coeffs, is_secondary in derived if coeffs is not None]
    fixed = [Fraction(c.value) for c in published]
    seen: set[int] = set()
    position = len(published) + primaries.index(target)
    for guess in product(range(1, below), repeat=len(primaries)):
        b = fixed + [Fraction(g) for g in guess]
        if not known.consistent(b):
            continue
        if all(_plausible(sum((x * y for x, y in zip(coeffs, b, strict=True)), Fraction(0)),
                          is_secondary, below) for coeffs, is_secondary in derived):
            seen.add(int(b[position]))
            if len(seen) > 1:
                return False
    return True


def _plausible(value: Fraction, is_secondary: bool, below: int) -> bool:
    if value.denominator != 1 or value < 0:
        return False
    return not (is_secondary and 0 < value < below)


class _Span:
    """Row space of a small rational matrix: express vectors in it, test consistency."""

    def __init__(self, rows: list[Vector]) -> None:
        self.rows = rows
        n = len(rows)
        width = len(rows[0]) if rows else 0
        # Transposed system A^T x = t; the left null space gives the consistency checks.
        self.columns = [[rows[r][c] for r in range(n)] for c in range(width)]
        self.null = _null_space(self.columns, n)

    def consistent(self, b: Vector) -> bool:
        return all(sum((y * v for y, v in zip(ns, b, strict=True)), Fraction(0)) == 0
                   for ns in self.null)

    def express(self, target: Vector) -> Vector | None:
        """Coefficients x with Σ x_i·row_i = target, or None if target is not in the span."""
        return _solve(self.columns, target, len(self.rows))


def _rref(matrix: list[Vector], width: int) -> tuple[list[Vector], list[int]]:
    m = [list(r) for r in matrix]
    pivots: list[int] = []
    row = 0
    for col in range(width):
        pivot = next((r for r in range(row, len(m)) if m[r][col] != 0), None)
        if pivot is None:
            continue
        m[row], m[pivot] = m[pivot], m[row]
        lead = m[row][col]
        m[row] = [v / lead for v in m[row]]
        for r in range(len(m)):
            if r != row and m[r][col] != 0:
                factor = m[r][col]
                m[r] = [a - factor * b for a, b in zip(m[r], m[row], strict=True)]
        pivots.append(col)
        row += 1
    return m, pivots


def _solve(columns: list[Vector], target: Vector, n: int) -> Vector | None:
    augmented = [[*columns[i], target[i]] for i in range(len(columns))]
    m, pivots = _rref(augmented, n + 1)
    if n in pivots:
        return None
    x = [Fraction(0)] * n
    for r, col in enumerate(pivots):
        x[col] = m[r][n]
    return x


def _null_space(columns: list[Vector], n: int) -> list[Vector]:
    m, pivots = _rref(columns, n)
    basis = []
    for free in (c for c in range(n) if c not in pivots):
        v = [Fraction(0)] * n
        v[free] = Fraction(1)
        for r, col in enumerate(pivots):
            v[col] = -m[r][free]
        basis.append(v)
    return basis
