"""German number formatting for texts inside the workbook (instructions, messages)."""

from __future__ import annotations

from decimal import Decimal


def number(value: Decimal | int, decimals: int | None = None) -> str:
    """1234.5 -> '1.234,5'; with `decimals`, a fixed number of decimal places."""
    value = Decimal(value)
    if decimals is None:
        text = f"{value.normalize():,f}"
    else:
        text = f"{value:,.{decimals}f}"
    return text.replace(",", "_").replace(".", ",").replace("_", ".")


def money(value: Decimal) -> str:
    return f"{number(value, 2)} €"


def percent(rate: Decimal) -> str:
    """0.40 -> '40 %'."""
    return f"{number(rate * 100)} %"
