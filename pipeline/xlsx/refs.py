"""String helpers: A1 references, defined-name formulas, number formats, escaped text."""

from __future__ import annotations

import re

from pipeline.xlsx.model import DefinedName

MAX_ROW = 1_048_576
MAX_COL = 16_384
DIGITS = "0123456789"

# Built-in number formats that Excel renders as dates or times (ECMA-376 18.8.30, incl. CJK).
BUILTIN_DATE_FORMATS = frozenset([*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)])

# Literal text, escaped characters, padding/fill characters and [Red]/[$-407]-style sections
# carry letters that are not date codes; elapsed-time sections like [h] or [mm] are kept.
_FORMAT_NOISE = re.compile(r'"[^"]*"|\\.|_.|\*.|\[(?![hHmMsS]+\])[^\]]*\]')
_XSTRING = re.compile(r"_x([0-9A-Fa-f]{4})_")
_SURROGATE = re.compile("[\ud800-\udfff]")
_CELL = r"\$?[A-Za-z]{1,3}\$?[0-9]{1,7}"
_NAME_REF = re.compile(
    r"'((?:[^']|'')+)'!(" + _CELL + r"(?::" + _CELL + r")?)"
    r"|([^'!\[\]\s(),;:+\-*/^&=<>\"{}#]+)!(" + _CELL + r"(?::" + _CELL + r")?)"
)


def column_number(letters: str) -> int:
    """1-based column of 'A'..'XFD' (any case); ValueError outside Excel's grid."""
    number = 0
    for char in letters.upper():
        digit = ord(char) - 64
        if not 1 <= digit <= 26:
            raise ValueError(f"bad column {letters!r}")
        number = number * 26 + digit
    if not 1 <= number <= MAX_COL:
        raise ValueError(f"bad column {letters!r}")
    return number


def column_letters(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def row_number(digits: str) -> int:
    """1-based row from its digits; ValueError unless plain ASCII digits inside the grid."""
    if not digits or digits.strip(DIGITS):
        raise ValueError(f"bad row {digits!r}")
    row = int(digits)
    if not 1 <= row <= MAX_ROW:
        raise ValueError(f"bad row {digits!r}")
    return row


def split_ref(ref: str) -> tuple[int, int]:
    """(row, col) of a single-cell reference like 'C7' (no '$'); ValueError if malformed."""
    letters = ref.rstrip(DIGITS)
    return row_number(ref[len(letters) :]), column_number(letters)


def _canonical(ref: str) -> str:
    row, col = split_ref(ref.replace("$", ""))
    return f"{column_letters(col)}{row}"


def parse_defined_name(name: str, formula: str) -> DefinedName:
    """A DefinedName whose sheet/ref are set only for a plain local reference: broken
    (#REF!), constant, formula, multi-area and other-workbook names get None."""
    raw = formula.strip()
    match = _NAME_REF.fullmatch(raw.removeprefix("="))
    if match is None:
        return DefinedName(name, formula, None, None)
    if match.group(1) is not None:
        sheet, target = match.group(1).replace("''", "'"), match.group(2)
    else:
        sheet, target = match.group(3), match.group(4)
    if sheet.startswith("["):  # '[1]Sheet'!A1 points into another workbook
        return DefinedName(name, formula, None, None)
    try:
        parts = [_canonical(part) for part in target.split(":")]
    except ValueError:
        return DefinedName(name, formula, None, None)
    ref = parts[0] if len(parts) == 1 or parts[0] == parts[1] else f"{parts[0]}:{parts[1]}"
    return DefinedName(name, formula, sheet, ref)


def is_date_format(code: str) -> bool:
    """True when a custom number format shows a date or time."""
    visible = _FORMAT_NOISE.sub("", code).lower()
    return any(char in visible for char in "dmyhs")


def decode_xstring(text: str) -> str:
    """Undo OOXML ST_Xstring escapes ('_x000D_' -> CR, '_x005F_' -> '_')."""
    if "_x" not in text:
        return text
    decoded = _XSTRING.sub(lambda m: chr(int(m.group(1), 16)), text)
    if _SURROGATE.search(decoded):  # escaped UTF-16 pairs; lone halves become U+FFFD
        decoded = decoded.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return decoded
