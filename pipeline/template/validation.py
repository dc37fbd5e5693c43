"""Excel data validations derived from the spec, with German input and error messages.

Lists stop wrong entries (a dropdown choice is never ambiguous). Numbers, dates and text
lengths only inform: a clerk who types "1.234,56" as text is told, but may keep it; the
pipeline's reader copes with such values and its rules have the final word.
Lists are inline (never a reference to another sheet: openpyxl drops those on re-save).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pipeline.periods import german_date
from pipeline.spec import ColumnSpec, FieldSpec
from pipeline.template import german
from pipeline.template.model import BuildContext

# The one value the `yes` field type accepts (the declaration).
YES_VALUE = "ja"
MAX_TITLE = 32  # Excel's limit for input and error titles
MAX_MESSAGE = 255  # Excel's limit for input and error messages and inline lists

Spec = FieldSpec | ColumnSpec


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def validation(spec: Spec, ctx: BuildContext, anchor: str) -> dict:
    """xlsxwriter `data_validation` options for a field or column; `anchor` is the top-left
    cell of the validated range (custom formulas are relative to it)."""
    options = _rule(spec, ctx, anchor)
    options["input_title"] = truncate(spec.label, MAX_TITLE)
    options["input_message"] = truncate(spec.help, MAX_MESSAGE)
    if options["validate"] != "any":
        options.setdefault("error_type", "information")
        options["error_title"] = truncate(
            "Ungültige Auswahl" if options["error_type"] == "stop" else "Bitte prüfen",
            MAX_TITLE,
        )
        options["error_message"] = truncate(options.pop("message"), MAX_MESSAGE)
    return options


def choices_of(spec: Spec) -> tuple[str, ...]:
    if spec.type == "yes":
        return (YES_VALUE,)
    return spec.choices


def _rule(spec: Spec, ctx: BuildContext, anchor: str) -> dict:
    choices = choices_of(spec)
    if choices:
        if len(",".join(choices)) > MAX_MESSAGE:
            raise ValueError(f"choice list of {spec.name} too long for an inline list")
        listed = ", ".join(choices)
        return {
            "validate": "list",
            "source": list(choices),
            "error_type": "stop",
            "message": f"Bitte einen Wert aus der Liste wählen: {listed}.",
        }
    if spec.type == "int":
        return _number_rule("integer", spec, anchor, "eine ganze Zahl")
    if spec.type in ("decimal", "money"):
        return _number_rule("decimal", spec, anchor, "eine Zahl")
    if spec.type == "date":
        return _date_rule(spec, ctx)
    if spec.max_length:
        return {
            "validate": "length",
            "criteria": "<=",
            "value": spec.max_length,
            "message": f"Bitte höchstens {german.number(spec.max_length)} Zeichen eingeben.",
        }
    return {"validate": "any"}


def _number_rule(kind: str, spec: Spec, anchor: str, what: str) -> dict:
    low, high, exclusive = spec.min, spec.max, spec.min_exclusive
    if low is None and high is None:
        return {"validate": "any"}
    message = f"Bitte {what} {_range_text(low, high, exclusive)} eingeben."
    if low is not None and high is not None and exclusive:
        # Excel's "between" is inclusive at both ends, so 0 < x <= 1 needs a formula.
        formula = f"=AND(ISNUMBER({anchor}),{anchor}>{low},{anchor}<={high})"
        return {"validate": "custom", "value": formula, "message": message}
    if low is not None and high is not None:
        bounds = {"criteria": "between", "minimum": _num(low), "maximum": _num(high)}
    elif low is not None:
        bounds = {"criteria": ">" if exclusive else ">=", "value": _num(low)}
    else:
        bounds = {"criteria": "<=", "value": _num(high)}
    return {"validate": kind, **bounds, "message": message}


def _num(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _range_text(low: Decimal | None, high: Decimal | None, exclusive: bool) -> str:
    parts = []
    if low is not None:
        parts.append(
            f"größer als {german.number(low)}"
            if exclusive
            else f"von mindestens {german.number(low)}"
        )
    if high is not None:
        parts.append(f"höchstens {german.number(high)}")
    return " und ".join(parts)


def _date_rule(spec: Spec, ctx: BuildContext) -> dict:
    if isinstance(spec, ColumnSpec) and spec.in_quarter:
        low, high = ctx.date_range
        return {
            "validate": "date",
            "criteria": "between",
            "minimum": low,
            "maximum": high,
            "message": f"Bitte ein Datum vom {german_date(low)} bis {german_date(high)} "
            "im Format TT.MM.JJJJ eingeben.",
        }
    low: date = ctx.prog.start
    return {
        "validate": "date",
        "criteria": ">=",
        "value": low,
        "message": f"Bitte ein Datum ab dem {german_date(low)} im Format TT.MM.JJJJ eingeben.",
    }
