"""A1-style references for the mapping layer, on top of the reader's strict parsing."""

from __future__ import annotations

from pipeline.xlsx.refs import column_letters, split_ref


def a1(row: int, col: int) -> str:
    return f"{column_letters(col)}{row}"


def parse_cell(ref: str) -> tuple[int, int] | None:
    """(row, col) of 'C7' or '$C$7', or None when it is not a cell inside Excel's grid."""
    try:
        return split_ref(ref.strip().replace("$", "").upper())
    except ValueError:
        return None


def parse_range(ref: str) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """'A4:H24' -> ((4, 1), (24, 8)); a single cell gives the same start and end."""
    first, _, last = ref.partition(":")
    start, end = parse_cell(first), parse_cell(last or first)
    if start is None or end is None:
        return None
    return start, end
