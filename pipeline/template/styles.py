"""Cell formats: German number and date formats, input cells yellow, locked cells grey."""

from __future__ import annotations

from decimal import Decimal

from xlsxwriter.format import Format
from xlsxwriter.workbook import Workbook

NUMBER_FORMATS = {
    "int": "0",
    "decimal": "0.00",
    "money": '#,##0.00 "€"',
    "date": "DD.MM.YYYY",
}
# Everything else (text, email, ags, yes, choice) is stored as text, so an AGS keeps its
# leading zero and "9b" or a phone number is never turned into a number.
TEXT_FORMAT = "@"
# A decimal bounded by 100 is a percentage (of working time); shown without decimals.
PERCENT_LIKE_MAX = Decimal(100)
PERCENT_LIKE_FORMAT = "0"

INPUT_FILL = "#FFF2CC"
LOCKED_FILL = "#E7E6E6"
HEADING_FILL = "#DDEBF7"
BORDER_COLOUR = "#A6A6A6"
HELP_COLOUR = "#404040"
TABLE_STYLE = "Table Style Medium 2"


def number_format(type_: str, maximum: Decimal | None = None) -> str:
    if type_ == "decimal" and maximum == PERCENT_LIKE_MAX:
        return PERCENT_LIKE_FORMAT
    return NUMBER_FORMATS.get(type_, TEXT_FORMAT)


class Styles:
    """Formats of one workbook, created once and reused (xlsxwriter needs few of them)."""

    def __init__(self, workbook: Workbook) -> None:
        self._wb = workbook
        self._cache: dict[tuple, Format] = {}
        self.title = workbook.add_format({"bold": True, "font_size": 14})
        self.subtitle = workbook.add_format({"italic": True, "font_color": HELP_COLOUR})
        self.help = workbook.add_format(
            {"text_wrap": True, "valign": "top", "font_color": HELP_COLOUR}
        )
        self.small_help = workbook.add_format(
            {"text_wrap": True, "valign": "top", "font_color": HELP_COLOUR, "font_size": 9}
        )
        self.label = workbook.add_format({"text_wrap": True, "valign": "top"})
        self.bold = workbook.add_format({"bold": True, "valign": "top", "text_wrap": True})
        self.heading = workbook.add_format(
            {"bold": True, "bg_color": HEADING_FILL, "bottom": 1, "border_color": BORDER_COLOUR}
        )
        self.paragraph = workbook.add_format({"text_wrap": True, "valign": "top"})

    def input(self, type_: str, maximum: Decimal | None = None, locked: bool = False) -> Format:
        """A single-cell input on a fields sheet."""
        key = ("input", number_format(type_, maximum), locked)
        if key not in self._cache:
            self._cache[key] = self._wb.add_format(
                {
                    "num_format": key[1],
                    "locked": locked,
                    "bg_color": LOCKED_FILL if locked else INPUT_FILL,
                    "border": 1,
                    "border_color": BORDER_COLOUR,
                    "align": "left",
                    "valign": "top",
                }
            )
        return self._cache[key]

    def narrative(self) -> Format:
        key = ("narrative",)
        if key not in self._cache:
            self._cache[key] = self._wb.add_format(
                {
                    "num_format": TEXT_FORMAT,
                    "locked": False,
                    "text_wrap": True,
                    "valign": "top",
                    "bg_color": INPUT_FILL,
                    "border": 1,
                    "border_color": BORDER_COLOUR,
                }
            )
        return self._cache[key]

    def column(self, type_: str, maximum: Decimal | None = None) -> Format:
        """A table column's cells (the table style supplies colours)."""
        key = ("column", number_format(type_, maximum))
        if key not in self._cache:
            self._cache[key] = self._wb.add_format(
                {"num_format": key[1], "locked": False, "valign": "top"}
            )
        return self._cache[key]
