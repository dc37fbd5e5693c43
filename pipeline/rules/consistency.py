"""Consistency inside one workbook: sums, "of which" limits, dates in the quarter, duplicates."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from pipeline.findings import Severity
from pipeline.periods import german_date, period_of
from pipeline.rules import rule
from pipeline.rules.context import Context
from pipeline.rules.items import field_label, ok_values, table_columns

E, W, H = Severity.ERROR, Severity.WARNING, Severity.NOTE
BASIS = "Vertrag Abschnitt 2"


def _ints(ctx: Context, *names: str) -> list[int] | None:
    values = [ctx.sub.get(n) for n in names]
    return values if all(isinstance(v, int) for v in values) else None  # type: ignore


@rule("SUMME", E, "Aufschlüsselung passt nicht zur Summe",
      "Die Aufschlüsselung nach {merkmal} ergibt {summe} ({teile}), bei {feld} stehen aber "
      "{gesamt}. Bitte gleichen Sie die Zahlen an; jede neue teilnehmende Person wird in "
      "jeder Aufschlüsselung genau einmal gezählt.", BASIS)
def breakdown_sums(ctx: Context):
    for check in ctx.spec.sums:
        values = _ints(ctx, check.total, *check.parts)
        if values is None:
            continue
        total, parts = values[0], values[1:]
        if sum(parts) != total:
            fs = ctx.spec.field(check.total)
            detail = " + ".join(f"{ctx.spec.field(p).label} {v}"
                                for p, v in zip(check.parts, parts, strict=True))
            yield breakdown_sums.rule.at(ctx.sub.fields[check.total], merkmal=check.label,
                                         summe=sum(parts), teile=detail,
                                         feld=field_label(fs), gesamt=total)


@rule("DAVON", E, "„Davon“-Angabe zu groß",
      "Bei {klein} steht {wert_klein}, bei {gross} aber nur {wert_gross}. Die erste Zahl ist "
      "ein Teil der zweiten und darf höchstens {wert_gross} sein. Bitte korrigieren Sie eine "
      "der beiden Zahlen.", BASIS)
def of_which(ctx: Context):
    for c in ctx.spec.comparisons:
        values = _ints(ctx, c.small, c.large)
        if values and values[0] > values[1]:
            yield of_which.rule.at(ctx.sub.fields[c.at],
                                   klein=field_label(ctx.spec.field(c.small)),
                                   wert_klein=values[0], wert_gross=values[1],
                                   gross=field_label(ctx.spec.field(c.large)))


@rule("ZEILE_VERGLEICH", E, "Werte einer Zeile passen nicht zusammen",
      "In Zeile {zeile} der Tabelle {tabelle} ist „{klein}“ ({wert_klein}) {relation} "
      "„{gross}“ ({wert_gross}). {tipp}", BASIS)
def row_comparisons(ctx: Context):
    for ts in ctx.spec.tables:
        columns = table_columns(ctx, ts.name)
        for c in ts.row_comparisons:
            smalls, larges = ok_values(columns[c.small].values), ok_values(columns[c.large].values)
            at = columns[c.at]
            for i, (small, large) in enumerate(zip(smalls, larges, strict=True)):
                if small is not None and large is not None and small > large:
                    is_date = isinstance(small, date)
                    yield row_comparisons.rule.at(
                        at.values[i], zeile=at.rows[i], tabelle=ts.name, klein=c.small,
                        gross=c.large, wert_klein=small, wert_gross=large,
                        relation="später als" if is_date else "größer als",
                        tipp="Ein Beleg kann nicht nach seiner Zahlung datiert sein; bitte "
                             "prüfen Sie beide Daten." if is_date else
                             "Bitte korrigieren Sie eine der beiden Zahlen.")


@rule("DATUM_QUARTAL", E, "Datum außerhalb des Quartals",
      "„{spalte}“ {datum} in Zeile {zeile} liegt {lage} des Berichtsquartals "
      "({von}–{bis}). {tipp}", "Vertrag Abschnitt 2; Förderaufruf: Zahlungsdatum entscheidet")
def dates_in_quarter(ctx: Context):
    bounds = ctx.quarter_bounds()
    if bounds is None:
        return
    start, end = bounds
    for ts in ctx.spec.tables:
        columns = table_columns(ctx, ts.name)
        for col in (c for c in ts.columns if c.in_quarter):
            column = columns[col.name]
            for i, day in enumerate(ok_values(column.values)):
                if day is None or start <= day <= end:
                    continue
                yield dates_in_quarter.rule.at(
                    column.values[i], spalte=col.name, datum=day, zeile=column.rows[i],
                    lage="vor dem Beginn" if day < start else "nach dem Ende",
                    von=start, bis=end, tipp=_where_it_belongs(ctx, day))


def _where_it_belongs(ctx: Context, day: date) -> str:
    period = period_of(ctx.prog, day)
    if period is None:
        return (f"Es liegt außerhalb des Projektzeitraums ({german_date(ctx.prog.start)}–"
                f"{german_date(ctx.prog.end)}) und ist nicht förderfähig; bitte prüfen Sie "
                "das Datum.")
    return (f"Es gehört in den Bericht für {period.label}; bitte tragen Sie die Zeile dort "
            "ein oder korrigieren Sie das Datum.")


@rule("MONAT_ERSTER", W, "Monat nicht als Monatserster angegeben",
      "„{spalte}“ in Zeile {zeile} ist {datum}; erwartet wird der Monatserste ({erster}). "
      "Gelesen wird der Monat {monat}. Bitte tragen Sie den Monatsersten ein.", BASIS)
def first_of_month(ctx: Context):
    for ts in ctx.spec.tables:
        columns = table_columns(ctx, ts.name)
        for col in (c for c in ts.columns if c.first_of_month):
            column = columns[col.name]
            for i, v in enumerate(column.values):
                if v.ok and v.value.day != 1:
                    yield first_of_month.rule.at(v, spalte=col.name, zeile=column.rows[i],
                                                 datum=v.value, erster=v.value.replace(day=1),
                                                 monat=v.value.strftime("%m/%Y"))


@rule("WERT_DOPPELT", E, "Wert doppelt in der Tabelle",
      "„{spalte}“ „{wert}“ steht in Zeile {zeile} und schon in Zeile {erste}. Jede "
      "{spalte} darf nur einmal vorkommen; bitte korrigieren oder löschen Sie die doppelte "
      "Zeile.", "Vertrag Abschnitt 2 (Belegnummer eindeutig)")
def unique_in_workbook(ctx: Context):
    for ts in ctx.spec.tables:
        columns = table_columns(ctx, ts.name)
        for name in ts.unique:
            first_row: dict[str, int] = {}
            column = columns[name]
            for i, value in enumerate(ok_values(column.values)):
                if value is None:
                    continue
                key = str(value).strip().casefold()
                if key in first_row:
                    yield unique_in_workbook.rule.at(column.values[i], spalte=name, wert=value,
                                                     zeile=column.rows[i], erste=first_row[key])
                else:
                    first_row[key] = column.rows[i]


def group_rows(ctx: Context, table: str, key: str) -> dict[object, list]:
    groups: dict[object, list] = defaultdict(list)
    for row in ctx.sub.tables.get(table, []):
        v = row.values[key]
        if v.ok:
            groups[v.value].append(row)
    return groups
