"""Turn a stored cell into a typed value, coping with what clerks actually type.

Each quirk is handled here and nowhere else: amounts typed as text ("1.234,56 €",
"1234.56"), dates typed as text ("01.02.2026") or stored as serial numbers, stray spaces,
formulas with or without a cached value, Excel error values. A problem is returned as a
code (never raised) and becomes a finding in the rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache, partial
from operator import itemgetter

from pipeline.money import cents
from pipeline.xlsx.model import RawCell

# Why: Excel's 1900 date system counts 1900-02-29 (a day that never was), so serials are
# counted from 1899-12-30; the 1904 system starts at 1904-01-01.
EPOCH_1900 = date(1899, 12, 30)
EPOCH_1904 = date(1904, 1, 1)
_DATE_PATTERNS = (
    (re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$"), "dmy"),
    (re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{2})$"), "dmy2"),
    (re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ][\d:.]+)?$"), "ymd"),
    (re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$"), "dmy"),
)
_MICRO = Decimal("0.000001")
# Why: no figure of the programme comes near 10^15, Excel keeps only 15 significant digits,
# and money must still round to the cent within Decimal's 28 digits. NaN, Infinity and
# 1E+999999999 are valid Decimal text but no number a clerk typed.
_TOO_BIG = Decimal("1E15")
# Characters of a cell quoted back in findings (`raw`): one long shared string can fill
# every cell of a table, and each finding would carry it twice.
RAW_SHOWN = 200
_SPACES = "\u00a0\u202f\u2009 \t"
_CURRENCY = re.compile(r"(€|eur|euro)", re.IGNORECASE)


class Value(tuple):
    """A typed value with its place. `problem` is a code such as 'type' or 'no_cached'.

    An immutable tuple with named fields (sheet, cell, raw, value, problem, formula, note):
    a workbook yields ~1,000 of them, and a tuple is built, pickled and unpickled in C (the
    frozen dataclass it replaces made pickling the largest cost of moving a result between
    processes)."""

    __slots__ = ()
    FIELDS = ("sheet", "cell", "raw", "value", "problem", "formula", "note")

    def __new__(cls, sheet: str, cell: str, raw: str, value: object = None,
                problem: str | None = None, formula: str | None = None,
                note: str | None = None) -> Value:
        return tuple.__new__(cls, (sheet, cell, raw, value, problem, formula, note))

    sheet: str = property(itemgetter(0))  # type: ignore[assignment]
    cell: str = property(itemgetter(1))  # type: ignore[assignment]
    raw: str = property(itemgetter(2))  # type: ignore[assignment]
    value: object = property(itemgetter(3))
    problem: str | None = property(itemgetter(4))  # type: ignore[assignment]
    formula: str | None = property(itemgetter(5))  # type: ignore[assignment]
    note: str | None = property(itemgetter(6))  # type: ignore[assignment]

    def __reduce__(self):  # type: ignore[override]
        return _value_of, (tuple(self),)

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in zip(self.FIELDS, self, strict=True))
        return f"Value({inner})"

    # Indexing instead of the named fields: rules ask these of every value.
    @property
    def is_blank(self) -> bool:
        return self[2].strip() == "" and self[5] is None  # raw, formula

    @property
    def ok(self) -> bool:
        return self[4] is None and self[3] is not None  # problem, value


_tuple_new = tuple.__new__


def _value_of(fields: tuple) -> Value:
    """A Value from its plain tuple (pickling, the result cache)."""
    return tuple.__new__(Value, fields)


def serial_to_date(serial: Decimal, date1904: bool) -> date | None:
    if serial < 1 or serial > 2958465:  # 9999-12-31
        return None
    return (EPOCH_1904 if date1904 else EPOCH_1900) + timedelta(days=int(serial))


def parse_decimal_text(text: str) -> tuple[Decimal | None, bool]:
    """Parse an amount typed as text. Returns (value, ambiguous_thousands)."""
    s = _CURRENCY.sub("", text)
    for ch in _SPACES:
        s = s.replace(ch, "")
    s = s.replace("'", "")
    negative = s.startswith("-") or (s.startswith("(") and s.endswith(")"))
    s = s.strip("-+()")
    if not s or not re.fullmatch(r"[\d.,]+", s):
        return None, False
    guessed = False
    if "," in s and "." in s:
        decimal_sep = "," if s.rfind(",") > s.rfind(".") else "."
        thousands = "." if decimal_sep == "," else ","
        s = s.replace(thousands, "").replace(decimal_sep, ".")
    elif "," in s:
        s = s.replace(",", "") if s.count(",") > 1 else s.replace(",", ".")
    elif s.count(".") > 1:
        s = s.replace(".", "")
    elif re.fullmatch(r"\d{1,3}\.\d{3}", s):
        s, guessed = s.replace(".", ""), True  # German thousands: "1.500" means 1500
    try:
        value = Decimal(s)
    except InvalidOperation:
        return None, False
    return (-value if negative else value), guessed


def parse_date_text(text: str) -> date | None:
    s = text.strip()
    for pattern, order in _DATE_PATTERNS:
        m = pattern.match(s)
        if not m:
            continue
        a, b, c = (int(g) for g in m.groups()[:3])
        try:
            if order == "ymd":
                return date(a, b, c)
            year = c + 2000 if order == "dmy2" else c
            return date(year, b, a)
        except ValueError:
            return None
    return None


def _number(cell: RawCell) -> Decimal | None:
    try:
        return _sane(Decimal(cell.text))
    except InvalidOperation:
        return None


def _sane(number: Decimal | None) -> Decimal | None:
    """`number` if it is finite and below 10^15 in magnitude, else None."""
    if number is None or not number.is_finite() or number.copy_abs() >= _TOO_BIG:
        return None
    return number


def shown(text: str) -> str:
    """The cell text as quoted in findings: at most RAW_SHOWN characters (blank stays blank)."""
    if len(text) <= RAW_SHOWN:
        return text
    return text[:RAW_SHOWN] + ("…" if text.strip() else "")


@lru_cache(maxsize=256)
def _tidy(text: str) -> str:
    """Single spaces inside a one-line text, a multi-line text stripped. Cached: a shared
    string repeated in 20,000 cells becomes one object, not 20,000 copies."""
    tidy = " ".join(text.split()) if "\n" not in text else text.strip()
    return text if tidy == text else tidy  # the same object as `raw` when nothing changed


def coerce(cell: RawCell | None, sheet: str, ref: str, type_: str, date1904: bool) -> Value:
    """Convert one stored cell to `type_` (text, int, decimal, money, date, choice, yes,
    email, ags). Blank cells give value None without a problem."""
    kind, fast = fast_path(type_, date1904)
    if cell is not None and cell[3] == kind and cell[5] is None and len(cell[4]) <= RAW_SHOWN:
        value = fast(cell[4])  # the fast path as in coerce_column (see there)
        if value is not None:
            return _tuple_new(Value, (sheet, ref, cell[4], value, None, None, None))
    return _coerce(cell, sheet, ref, type_, date1904)


def _coerce(cell: RawCell | None, sheet: str, ref: str, type_: str, date1904: bool) -> Value:
    """coerce() of a cell the fast path declined: every quirk is handled here."""
    if cell is None:
        return _tuple_new(Value, (sheet, ref, "", None, None, None, None))
    _ref, _row, _col, kind, text, formula, has_value, _date = cell
    if kind == "" and formula is None:
        return _tuple_new(Value, (sheet, ref, "", None, None, None, None))
    raw = text if len(text) <= RAW_SHOWN else shown(text)
    if formula is not None and not has_value:
        return Value(sheet, ref, shown("=" + formula), problem="no_cached", formula=formula)
    if kind == "e":
        return Value(sheet, ref, raw, problem="excel_error", formula=formula)
    value, problem, note = _convert(cell, type_, date1904)
    return _tuple_new(Value, (sheet, ref, raw, value, problem, formula, note))


def coerce_column(cells: list[RawCell | None], sheet: str, refs: Sequence[str], type_: str,
                  date1904: bool) -> list[Value]:
    """coerce() for the cells of one table column (`refs` are their addresses).

    Why: ~1,000 cells per workbook, nearly all stored the way the template stores them (a
    short tidy text, a plain number; no formula), and the general path costs several calls
    a cell. So the type's fast path is chosen once per column; it converts such a cell in
    one step or declines (None), and every other cell takes _coerce(). Both give the same
    Value for every cell the fast path accepts (tests/test_mapping_fast.py)."""
    kind, fast = fast_path(type_, date1904)
    values: list[Value] = []
    append, new, limit = values.append, _tuple_new, RAW_SHOWN
    # coerce() inlined: one more call per cell would cost ~0.1 ms per workbook.
    for cell, ref in zip(cells, refs, strict=False):  # one length by construction
        if cell is not None and cell[3] == kind and cell[5] is None and len(cell[4]) <= limit:
            value = fast(cell[4])
            if value is not None:
                append(new(Value, (sheet, ref, cell[4], value, None, None, None)))
                continue
        append(_coerce(cell, sheet, ref, type_, date1904))
    return values


def fast_path(type_: str, date1904: bool) -> tuple[str, Callable[[str], object]]:
    """(the cell kind it takes, a function of the stored text giving the value or None).
    The text types and dates use the caches the general path uses; numbers are plain
    digits with at most one '.' (anything else, e.g. '1E-7' or float noise, declines)."""
    if type_ == "date":
        return "n", _serial_day_1904 if date1904 else _serial_day_1900
    return _FAST_PATHS.get(type_, ("", _decline))


def _decline(_text: str) -> None:
    """The fast path of a type that has none: every cell takes the general path."""
    return None


def _plain_digits(text: str) -> bool:
    """1 to 15 ASCII digits: below 10^15, so _sane() accepts the number (str.isdigit alone
    also accepts digits Decimal refuses, such as '²')."""
    return 0 < len(text) <= 15 and text.isascii() and text.isdigit()


@lru_cache(maxsize=1024)
def _plain_int(text: str) -> int | None:
    """Cached: counts and running numbers repeat (1, 2, 3 …)."""
    return int(text) if _plain_digits(text) else None


def _plain_money(text: str) -> Decimal | None:
    """At most two decimals: rounding to the cent is exact, and the value is the text with
    two decimals (what cents() gives, without its quantize)."""
    if len(text) <= 15 and text.isascii():
        whole, _, fraction = text.partition(".")
        if len(fraction) <= 2 and whole.isdigit() and (not fraction or fraction.isdigit()):
            return Decimal(f"{whole}.{fraction:0<2}")
    return None


def _plain_decimal(text: str) -> Decimal | None:
    """At most 6 decimals: more is float noise, which the general path rounds."""
    whole, _, fraction = text.partition(".")
    if len(fraction) <= 6 and _plain_digits(whole) and (not fraction or _plain_digits(fraction)):
        return Decimal(text)
    return None


# A stored text gets _tidy() whatever its type, as in _as_text (only the 'ags' number differs).
_TEXT_TYPES = ("text", "choice", "yes", "email", "ags")
_FAST_PATHS = {
    **{t: ("s", _tidy) for t in _TEXT_TYPES},
    "int": ("n", _plain_int), "money": ("n", _plain_money), "decimal": ("n", _plain_decimal),
}


def _convert(cell: RawCell, type_: str, date1904: bool) -> tuple[object, str | None, str | None]:
    if type_ in ("text", "choice", "yes", "email"):
        return _as_text(cell), None, None
    if type_ == "ags":
        text = _as_text(cell)
        if cell.kind == "n" and text.isdigit() and len(text) == 7:
            return "0" + text, None, "leading_zero"
        return text, None, None
    if type_ == "date":
        return _as_date(cell, date1904)
    if type_ in ("int", "decimal", "money"):
        return _as_number(cell, type_)
    raise ValueError(f"unknown field type {type_!r}")


def _as_text(cell: RawCell) -> str:
    if cell.kind == "n":
        number = _number(cell)
        if number is not None and number == number.to_integral_value():
            return str(int(number))
        return cell.text
    if cell.kind == "b":
        return "WAHR" if cell.text in ("1", "true") else "FALSCH"
    return _tidy(cell.text)


def _serial_day(text: str, date1904: bool) -> date | None:
    """The day of a date serial as stored ('45931')."""
    try:
        number = _sane(Decimal(text))
    except InvalidOperation:
        return None
    return serial_to_date(number, date1904) if number is not None else None


# Cached per date system (together as many entries as the one cache before): the project
# period has ~1,100 days.
_serial_day_1900 = lru_cache(maxsize=2048)(partial(_serial_day, date1904=False))
_serial_day_1904 = lru_cache(maxsize=2048)(partial(_serial_day, date1904=True))


def _as_date(cell: RawCell, date1904: bool) -> tuple[object, str | None, str | None]:
    if cell.kind == "n":
        day = (_serial_day_1904 if date1904 else _serial_day_1900)(cell.text)
        return (day, None, None) if day else (None, "type", None)
    if cell.kind == "d":
        try:
            return datetime.fromisoformat(cell.text).date(), None, None
        except ValueError:
            return None, "type", None
    if cell.kind == "s":
        day = parse_date_text(cell.text)
        return (day, None, "text") if day else (None, "type", None)
    return None, "type", None


def _as_number(cell: RawCell, type_: str) -> tuple[object, str | None, str | None]:
    note = None
    if cell.kind == "n":
        number = _number(cell)
    elif cell.kind == "s":
        if not cell.text.strip():
            return None, None, None
        number, guessed = parse_decimal_text(cell.text)
        number = _sane(number)
        note = "thousands" if guessed else "text"
    else:
        number = None
    if number is None:
        return None, "type", None
    if type_ == "int":
        if number != number.to_integral_value():
            return None, "not_int", note
        return int(number), None, note
    if type_ == "money":
        return cents(number), None, note
    if number.as_tuple().exponent < -6:  # float noise such as 0.30000000000000004
        number = number.quantize(_MICRO).normalize()
    return number, None, note
