"""Cell suppression for published person counts (algorithm: docs/reports.md).

A published cell is the sum of some underlying units (quarters). Cells with 1 ≤ value <
`below` are suppressed (primary). Then an audit plays the attacker: it knows every
published value, that a primary cell lies in 1 … below−1, that a secondarily suppressed
cell is 0 or ≥ below, that every unit is a whole number ≥ 0, and how the cells overlap (a
Projektjahr and the EU accounting years cut the quarters differently; both add up to the
total). It enumerates every whole-number filling of the cells that fits all of this; a
primary cell that has the same value in all of them is disclosed. Then the smallest
published cell whose suppression ends that disclosure is suppressed as well (secondary),
and the audit runs again.

The enumeration runs over "atoms" (units that lie in exactly the same cells), in order,
and a value is only tried where no published cell forces it, so it stays small. If it
would exceed `BUDGET` steps the cell counts as disclosed: more is suppressed, never less.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

PRIMARY, SECONDARY = "primary", "secondary"
BUDGET = 200_000
Filling = tuple[tuple[int, int], ...]  # (cell index, value) of the primary cells


@dataclass(frozen=True)
class Cell:
    key: Hashable
    units: frozenset[int]
    value: int


def protect(cells: Sequence[Cell], below: int) -> dict[Hashable, str]:
    """{key: PRIMARY | SECONDARY} for every cell that must not be published."""
    state = {c.key: PRIMARY for c in cells if 0 < c.value < below}
    while True:
        exposed = disclosed(cells, state, below)
        if not exposed:
            return state
        extra = _secondary(exposed[0], cells, state, below)
        if extra is None:  # everything suppressed already: nothing left to reveal it
            return state
        state[extra.key] = SECONDARY


def disclosed(cells: Sequence[Cell], state: dict[Hashable, str], below: int) -> list[Cell]:
    """Primary cells whose value an attacker can work out, in the order of `cells`."""
    primaries = [c for c in cells if state.get(c.key) == PRIMARY]
    if not primaries:
        return []
    try:
        seen = _Audit(cells, state, below).values()
    except _TooHard:
        return primaries
    return [c for c in primaries if len(seen[c.key]) < 2]


def _secondary(exposed: Cell, cells: Sequence[Cell], state: dict[Hashable, str],
               below: int) -> Cell | None:
    """The smallest published cell (zeros last) whose suppression protects `exposed`;
    if no single cell does, the smallest one (the loop then adds more)."""
    candidates = sorted((c for c in cells if c.key not in state),
                        key=lambda c: (c.value == 0, c.value))
    for c in candidates:
        if exposed not in disclosed(cells, {**state, c.key: SECONDARY}, below):
            return c
    return candidates[0] if candidates else None


class _TooHard(Exception):
    pass


class _Audit:
    """Every whole-number filling of the atoms that fits what the attacker knows."""

    def __init__(self, cells: Sequence[Cell], state: dict[Hashable, str], below: int) -> None:
        self.cells, self.below = list(cells), below
        self.kind = [state.get(c.key, "") for c in cells]
        units = sorted({u for c in cells for u in c.units})
        signature = {u: frozenset(i for i, c in enumerate(cells) if u in c.units) for u in units}
        atoms: dict[frozenset[int], int] = {}
        for u in units:  # chronological: the first unit of each atom decides its place
            atoms.setdefault(signature[u], len(atoms))
        self.atoms = list(atoms)  # atom index -> the cells containing it
        self.last = [max(n for n, members in enumerate(self.atoms) if i in members)
                     for i in range(len(cells))]
        cap = max([c.value for c in cells] + [0]) + below
        self.bound = [min([cells[i].value for i in m if not self.kind[i]]
                          + [below - 1 for i in m if self.kind[i] == PRIMARY] + [cap])
                      for m in self.atoms]
        self.primaries = [i for i, k in enumerate(self.kind) if k == PRIMARY]
        self.steps = 0
        self.memo: dict[tuple[int, tuple[int, ...]], frozenset[Filling]] = {}

    def values(self) -> dict[Hashable, set[int]]:
        seen: dict[Hashable, set[int]] = {self.cells[i].key: set() for i in self.primaries}
        for filling in self._walk(0, tuple(0 for _ in self.cells)):
            for i, v in filling:
                seen[self.cells[i].key].add(v)
        return seen

    def _walk(self, n: int, partial: tuple[int, ...]) -> frozenset[Filling]:
        """Primary values (cell index, value) of every fitting filling of atoms n, n+1, …"""
        if (n, partial) not in self.memo:
            self.memo[(n, partial)] = self._expand(n, partial)
        return self.memo[(n, partial)]

    def _expand(self, n: int, partial: tuple[int, ...]) -> frozenset[Filling]:
        if n == len(self.atoms):
            return frozenset({()})
        self.steps += 1
        if self.steps > BUDGET:
            raise _TooHard
        found: set[Filling] = set()
        for v in self._candidates(n, partial):
            after = tuple(p + v if i in self.atoms[n] else p for i, p in enumerate(partial))
            closing = [i for i in self.atoms[n] if self.last[i] == n]
            if not all(self._fits(i, after[i]) for i in closing):
                continue
            mine = tuple((i, after[i]) for i in closing if self.kind[i] == PRIMARY)
            for rest in self._walk(n + 1, self._open(n + 1, after)):
                found.add(mine + rest)
        return frozenset(found)

    def _candidates(self, n: int, partial: tuple[int, ...]) -> range:
        closing = [i for i in self.atoms[n] if self.last[i] == n]
        forced = {self.cells[i].value - partial[i] for i in closing if not self.kind[i]}
        if len(forced) > 1:
            return range(0)
        if forced:
            v = forced.pop()
            return range(v, v + 1) if 0 <= v <= self.bound[n] else range(0)
        return range(self.bound[n] + 1)

    def _fits(self, i: int, value: int) -> bool:
        kind = self.kind[i]
        if not kind:
            return value == self.cells[i].value
        if kind == PRIMARY:
            return 0 < value < self.below
        return not 0 < value < self.below

    def _open(self, n: int, partial: tuple[int, ...]) -> tuple[int, ...]:
        """Forget the sums of closed cells, so equal futures share one memo entry."""
        return tuple(p if self.last[i] >= n else 0 for i, p in enumerate(partial))
