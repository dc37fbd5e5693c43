"""A1-style cell references."""

from __future__ import annotations

import re

_CELL = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d+)$")


def col_letters(col: int) -> str:
    letters = ""
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def col_index(letters: str) -> int:
    index = 0
    for ch in letters.upper():
        index = index * 26 + ord(ch) - 64
    return index


def a1(row: int, col: int) -> str:
    return f"{col_letters(col)}{row}"


def parse_cell(ref: str) -> tuple[int, int] | None:
    m = _CELL.match(ref.strip())
    return (int(m.group(2)), col_index(m.group(1))) if m else None


def parse_range(ref: str) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """'A4:H24' -> ((4, 1), (24, 8)); a single cell gives the same start and end."""
    first, _, last = ref.partition(":")
    start, end = parse_cell(first), parse_cell(last or first)
    if start is None or end is None:
        return None
    return start, end
