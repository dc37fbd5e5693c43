"""German formatting of values inside messages."""

from __future__ import annotations

from datetime import date
from decimal import Decimal


def german_number(value: Decimal, places: int | None = 2) -> str:
    if places is not None:
        text = f"{value:,.{places}f}"
    else:
        text = f"{value.normalize():,f}"
    return text.replace(",", "\u0001").replace(".", ",").replace("\u0001", ".")


def fmt(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "ja" if value else "nein"
    if isinstance(value, date):
        return value.strftime("%d.%m.%Y")
    if isinstance(value, Decimal):
        places = 2 if value.as_tuple().exponent == -2 else None
        return german_number(value, places)
    return str(value)
