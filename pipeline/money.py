"""Money helpers: euro amounts are Decimal, rounded to the cent with ROUND_HALF_UP."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

ZERO = Decimal("0.00")
CENT = Decimal("0.01")


def cents(x: Decimal) -> Decimal:
    """Round to the cent, halves away from zero (kaufmännisches Runden); never '-0.00'."""
    rounded = x.quantize(CENT, rounding=ROUND_HALF_UP)
    return rounded if rounded else ZERO


def csv_money(x: Decimal) -> str:
    """Machine format for CSV outputs: decimal point, two decimals, no grouping ('1234.56')."""
    if type(x) is Decimal:
        # Most amounts are cents already (exponent -2: two digits after the point, no
        # exponent in the text): then rounding changes nothing and the text is the
        # Decimal's own, ≈ 3× cheaper. '-0.00' is written as '0.00' (see `cents`); a
        # coefficient of 28 digits and more takes the general path (context precision).
        text = str(x)
        if text[-3:-2] == "." and len(text) < 28 and text != "-0.00":
            return text
    return f"{cents(x):.2f}"


def fmt_eur(x: Decimal) -> str:
    """German display format: '1.234,56 €' (thousands '.', decimal ',')."""
    text = f"{cents(x):,.2f}"  # '1,234.56'
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".") + " €"
