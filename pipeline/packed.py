"""A list that stays pickled until something reads it.

A cached check result holds, per workbook, about a hundred receipt rows that only the
cross-quarter rules read (and those only for an application with a new or changed file);
unpickling them for all 432 workbooks of a warm run was a third of its loading time. Its
other tables are packed too, and the source cells of its facts when they are many. A
`Packed` keeps such a list as the bytes it was pickled to, with its length, and unpickles
it on first use. It behaves as a read-only sequence (`len`, iteration, indexing, `==`), and
pickles back to the same bytes while nobody has read it.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

T = TypeVar("T")

# Below this many items a plain list is cheaper than the extra pickle frame (the facts'
# source cells; a submission's tables are packed whenever they have rows).
MIN_ITEMS = 32


class Packed(Sequence[T]):
    __slots__ = ("_blob", "_decode", "_items", "_n")

    def __init__(self, blob: bytes, n: int, decode: Callable[[Any], list[T]]) -> None:
        """`blob`: `pickle.dumps(x)` of what `decode(x)` turns into the `n` items;
        `decode` must be a module-level function (it is pickled by reference)."""
        self._blob = blob  # kept after a read: `release` goes back to it
        self._n = n
        self._decode = decode
        self._items: list[T] | None = None

    @classmethod
    def of(cls, plain: Any, n: int, decode: Callable[[Any], list[T]]) -> Packed[T]:
        return cls(pickle.dumps(plain, pickle.HIGHEST_PROTOCOL), n, decode)

    @property
    def loaded(self) -> bool:
        return self._items is not None

    def _list(self) -> list[T]:
        if self._items is None:
            self._items = self._decode(pickle.loads(self._blob))
        return self._items

    def release(self) -> None:
        """Forget the items read (they are unpickled again when read again): a cold run
        reads every application's receipts once, for the cross-quarter rules, and would
        otherwise keep all of them until it ends (≈ 70 KB of objects per workbook)."""
        self._items = None

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, index):  # type: ignore[override]
        return self._list()[index]

    def __iter__(self) -> Iterator[T]:
        return iter(self._list())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Packed):
            other = other._list()
        if not isinstance(other, (list, tuple)):
            return NotImplemented
        return self._list() == list(other)

    def __hash__(self) -> int:  # a list is not hashable either
        raise TypeError("unhashable type: 'Packed'")

    def __repr__(self) -> str:
        return repr(self._list())

    def __reduce__(self):
        if self._items is not None:  # read (and possibly shared) since: not packed again
            return list, (self._items,)
        return Packed, (self._blob, self._n, self._decode)
