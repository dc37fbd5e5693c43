"""Cell rules: formulas, types, required values, ranges, lengths and list values."""

from __future__ import annotations

import re
from decimal import Decimal
from functools import lru_cache

from pipeline.findings import Severity
from pipeline.rules import rule
from pipeline.rules.context import Context
from pipeline.rules.fmt import fmt
from pipeline.rules.items import columns, flagged, ok_values, required
from pipeline.spec import ColumnSpec, FieldSpec

E, W, H = Severity.ERROR, Severity.WARNING, Severity.NOTE
BASIS = "Vertrag Abschnitt 2 (Feldtypen)"
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

EXPECTED = {
    "int": "eine ganze Zahl (z. B. 12)",
    "money": "ein Betrag in Euro (z. B. 1234,56)",
    "decimal": "eine Zahl (z. B. 0,5)",
    "date": "ein Datum im Format TT.MM.JJJJ (z. B. 15.01.2026)",
    "ags": "ein achtstelliger Gemeindeschlüssel (z. B. 06431002)",
}


@rule("FORMEL_OHNE_WERT", E, "Formel ohne gespeicherten Wert",
      "In {feld} steht die Formel „{formel}“ ohne gespeichertes Ergebnis, daher ist kein Wert "
      "lesbar. Erwartet wird die Zahl selbst: bitte überschreiben Sie die Formel mit der Zahl.",
      "Vorgabe: Werte werden nie aus Formeln berechnet")
def formula_without_value(ctx: Context):
    for it in flagged(ctx):
        if it.value.problem == "no_cached":
            yield formula_without_value.rule.at(it.value, feld=it.label, formel=it.value.raw)


@rule("FORMEL_WERT", H, "Formel statt Zahl",
      "In {feld} steht die Formel „={formel}“; verwendet wird ihr gespeicherter Wert {wert}. "
      "Bitte tragen Sie künftig die Zahl direkt ein.",
      "Vorgabe: gespeicherter Wert einer Formel nur mit Hinweis")
def formula_value(ctx: Context):
    for it in flagged(ctx):
        v = it.value
        if v.formula is not None and v.problem is None and v.value is not None:
            yield formula_value.rule.at(v, feld=it.label, formel=v.formula, wert=v.value)


@rule("EXCEL_FEHLERWERT", E, "Excel-Fehlerwert",
      "In {feld} steht der Fehlerwert „{gefunden}“ (meist das Ergebnis einer fehlerhaften "
      "Formel). Erwartet wird {erwartet}; bitte tragen Sie den Wert direkt ein.", BASIS)
def excel_error(ctx: Context):
    for it in flagged(ctx):
        if it.value.problem == "excel_error":
            yield excel_error.rule.at(it.value, feld=it.label, gefunden=it.value.raw,
                                      erwartet=EXPECTED.get(it.spec.type, "einen Wert"))


@rule("ZAHL_ALS_TEXT", H, "Zahl oder Datum als Text eingegeben",
      "In {feld} wurde „{gefunden}“ als Text eingegeben und als {gelesen} gelesen. Stimmt "
      "das, ist nichts zu tun; sonst korrigieren Sie bitte den Wert. Tragen Sie Zahlen und "
      "Daten am besten ohne Einheit und Zusatztext ein.", "Lesevorgaben (docs/reader.md)")
def number_as_text(ctx: Context):
    for it in flagged(ctx):
        v = it.value
        if v.problem is None and v.note in ("text", "thousands") and v.formula is None:
            yield number_as_text.rule.at(v, feld=it.label, gefunden=v.raw, gelesen=v.value)


@rule("TYP", E, "Falscher Datentyp",
      "In {feld} steht „{gefunden}“; erwartet wird {erwartet}. Bitte korrigieren Sie den Wert.",
      BASIS)
def wrong_type(ctx: Context):
    pattern = re.compile(ctx.prog.ags_pattern)
    for it in flagged(ctx):
        v = it.value
        if v.problem in ("type", "not_int"):
            yield wrong_type.rule.at(v, feld=it.label, gefunden=v.raw,
                                     erwartet=EXPECTED.get(it.spec.type, "ein gültiger Wert"))
    for col in (c for c in columns(ctx) if c.spec.type == "ags"):
        for i, v in enumerate(col.values):
            if v.ok and not pattern.match(str(v.value)):
                yield wrong_type.rule.at(v, feld=col.item(i).label, gefunden=v.raw,
                                         erwartet=EXPECTED["ags"])


@rule("PFLICHTFELD", E, "Pflichtangabe fehlt",
      "{feld} ist leer. Bitte tragen Sie einen Wert ein{hinweis}.", BASIS)
def missing(ctx: Context):
    for it in flagged(ctx):
        spec = it.spec
        if it.value.is_blank and required(it, ctx) and spec.type != "yes":
            if isinstance(spec, FieldSpec) and spec.required_in_quarters and not spec.required:
                continue  # reported by SACHBERICHT_Q4
            hint = " (0, wenn es keine gab)" if spec.type == "int" else ""
            yield missing.rule.at(it.value, feld=it.label, hinweis=hint)


@rule("SACHBERICHT_Q4", E, "Sachbericht im 4. Quartal fehlt",
      "{feld} ist leer. Im 4. Quartal gehört der Sachbericht zum Zwischennachweis; bitte "
      "beschreiben Sie das Projektjahr auf dem Blatt „Sachbericht“.",
      "Kooperations- und Weiterleitungsvertrag: jährlicher Sachbericht")
def narrative(ctx: Context):
    for it in flagged(ctx):
        spec = it.spec
        if (isinstance(spec, FieldSpec) and spec.required_in_quarters and not spec.required
                and it.value.is_blank and spec.is_required(ctx.sub.quartal)):
            yield narrative.rule.at(it.value, feld=it.label)


@rule("ERKLAERUNG", E, "Erklärung nicht abgegeben",
      "Die Erklärung {feld} ist nicht abgegeben: {gefunden}, erwartet wird „ja“. Bitte "
      "wählen Sie „ja“, wenn die Angaben richtig und vollständig sind, und tragen "
      "Sie Name und Datum der Erklärung ein.",
      "Kooperations- und Weiterleitungsvertrag")
def declaration(ctx: Context):
    for col in (c for c in columns(ctx) if c.spec.type == "yes"):
        for i, v in enumerate(col.values):
            if str(v.value or "").strip().lower() != "ja":
                raw = v.raw.strip()
                found = f"eingetragen ist „{raw}“" if raw else "das Feld ist leer"
                yield declaration.rule.at(v, feld=col.item(i).label, gefunden=found)


def _bounds_text(spec: FieldSpec | ColumnSpec) -> str:
    low, high = spec.min, spec.max
    if low is not None and high is not None:
        if spec.min_exclusive:
            return f"größer als {fmt(low)} und höchstens {fmt(high)}"
        return f"von {fmt(low)} bis {fmt(high)}"
    if low is not None:
        return f"größer als {fmt(low)}" if spec.min_exclusive else f"mindestens {fmt(low)}"
    return f"höchstens {fmt(high)}"


@rule("BEREICH", E, "Wert außerhalb des erlaubten Bereichs",
      "In {feld} steht {gefunden}; erlaubt ist {bereich}. Bitte korrigieren Sie den Wert.",
      BASIS)
def out_of_range(ctx: Context):
    for col in columns(ctx):
        low, high, above = col.spec.min, col.spec.max, col.spec.min_exclusive
        if low is None and high is None:
            continue
        # ~300 numbers a workbook: read by index, not by name (v[3] value, v[4] problem);
        # an int is compared with the Decimal bounds as it is (exact in Python).
        for i, v in enumerate(col.values):
            x = v[3]
            if v[4] is None and isinstance(x, (int, Decimal)) and (
                    (low is not None and (x < low or (above and x == low)))
                    or (high is not None and x > high)):
                yield out_of_range.rule.at(v, feld=col.item(i).label, gefunden=x,
                                           bereich=_bounds_text(col.spec))


@rule("TEXT_ZU_LANG", E, "Text zu lang",
      "{feld} enthält {laenge} Zeichen; erlaubt sind höchstens {grenze}. Bitte kürzen Sie "
      "den Text.", BASIS)
def too_long(ctx: Context):
    for col in columns(ctx):
        limit = col.spec.max_length
        if not limit:
            continue
        for i, v in enumerate(col.values):
            x = v[3]  # the value, read by index: ~300 texts a workbook
            if isinstance(x, str) and len(x) > limit:
                yield too_long.rule.finding(v.sheet, v.cell, v.raw[:50], feld=col.item(i).label,
                                            laenge=len(x), grenze=limit)


@rule("LISTE", E, "Wert nicht in der Auswahlliste",
      "In {feld} steht „{gefunden}“; erlaubt ist einer dieser Werte: {erlaubt}. Bitte wählen "
      "Sie einen Wert aus der Liste.", BASIS)
def not_in_list(ctx: Context):
    for col in (c for c in columns(ctx) if c.spec.choices):
        choices = col.spec.choices
        exact = _exact_choices(choices)
        for i, value in enumerate(ok_values(col.values)):
            if (value is not None and value not in exact
                    and canonical_choice(str(value), choices) is None):
                yield not_in_list.rule.at(col.values[i], feld=col.item(i).label,
                                          gefunden=col.values[i].raw, erlaubt=", ".join(choices))


def canonical_choice(text: str, choices: tuple[str, ...]) -> str | None:
    """The list value meant by `text`, ignoring case and extra spaces."""
    if text in _exact_choices(choices):  # fast path: the list value as the dropdown enters it
        return text
    return _meant(text, choices)


def _meant(text: str, choices: tuple[str, ...]) -> str | None:
    wanted = " ".join(text.split()).casefold()
    return next((c for c in choices if c.casefold() == wanted), None)


@lru_cache(maxsize=64)
def _exact_choices(choices: tuple[str, ...]) -> frozenset[str]:
    """The list values that mean themselves (all of them, unless a list holds two values
    differing only in case or spaces)."""
    return frozenset(c for c in choices if _meant(c, choices) == c)


@rule("EMAIL_FORMAT", W, "E-Mail-Adresse unvollständig",
      "{feld}: „{gefunden}“ sieht nicht wie eine E-Mail-Adresse aus (erwartet z. B. "
      "vorname.nachname@kommune.de). Bitte prüfen Sie die Angabe.", BASIS)
def email_format(ctx: Context):
    for col in (c for c in columns(ctx) if c.spec.type == "email"):
        for i, v in enumerate(col.values):
            if v.ok and not EMAIL.match(str(v.value)):
                yield email_format.rule.at(v, feld=col.item(i).label, gefunden=v.raw)
