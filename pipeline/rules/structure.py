"""Structure: the template id and version, defined names, tables and columns."""

from __future__ import annotations

from pipeline.findings import Severity
from pipeline.rules import declare, rule
from pipeline.rules.context import Context

E, W, H = Severity.ERROR, Severity.WARNING, Severity.NOTE
BASIS = "Vertrag Abschnitt 2 (Vorlage)"

TEMPLATE_ID = declare(
    "VORLAGE_ID", E, "Falsche Vorlagen-Kennung",
    "In „Vorlage“ (VORLAGE_ID) steht „{gefunden}“, erwartet wird „{erwartet}“. Bitte verwenden "
    "Sie die vom Ministerium versandte KISI-Vorlage und ändern Sie dieses Feld nicht.",
    BASIS, "einreichung")
TEMPLATE_VERSION = declare(
    "VORLAGE_VERSION", E, "Unbekannte Vorlagenversion",
    "Die Vorlagenversion „{gefunden}“ ist nicht bekannt; lesbar sind die Versionen {bekannt}. "
    "Bitte übertragen Sie Ihre Angaben in die aktuelle Vorlage (Version {aktuell}), die Sie "
    "vom Ministerium erhalten haben.", "docs/template-versions.md", "einreichung")

TEMPLATE_OLD = declare(
    "VORLAGE_ALT", H, "Ältere Vorlagenversion",
    "Dieser Bericht verwendet die Vorlagenversion {gefunden}; aktuell ist Version {aktuell}. "
    "Er wurde mit den Regeln der Version {gefunden} gelesen. Bitte verwenden Sie für den "
    "nächsten Bericht die aktuelle Vorlage.", "docs/template-versions.md", "einreichung")


@rule("STRUKTUR_NAME", E, "Feldname fehlt oder ist defekt",
      "Der Feldname {name} ({bezeichnung}) {zustand}. Er wird zum Auslesen gebraucht. Bitte "
      "übertragen Sie Ihre Angaben in eine frische Vorlage, statt Zellen zu löschen oder "
      "auszuschneiden.", BASIS)
def names(ctx: Context):
    labels = {f.name: f.label for f in ctx.spec.fields}
    for p in ctx.sub.problems:
        if p.kind == "name_missing":
            yield names.rule.finding(name=p.name, bezeichnung=labels.get(p.name, ""),
                                     zustand="fehlt in der Arbeitsmappe")
        elif p.kind == "name_broken":
            yield names.rule.finding(name=p.name, bezeichnung=labels.get(p.name, ""),
                                     zustand=f"verweist auf keine gültige Zelle ({p.detail})")


@rule("STRUKTUR_TABELLE", E, "Tabelle fehlt",
      "Die Tabelle {tabelle} ({bezeichnung}) fehlt oder wurde umbenannt. Bitte verwenden Sie "
      "die Tabelle der Vorlage auf dem Blatt „{blatt}“ und benennen Sie sie nicht um.", BASIS)
def tables(ctx: Context):
    labels = {t.name: t.label for t in ctx.spec.tables}
    for p in ctx.sub.problems:
        if p.kind == "table_missing":
            yield tables.rule.finding(p.sheet, p.cell, tabelle=p.name,
                                      bezeichnung=labels.get(p.name, ""), blatt=p.sheet)


@rule("STRUKTUR_SPALTE", E, "Tabellenspalte fehlt",
      "In der Tabelle {tabelle} fehlt die Spalte „{spalte}“ (vielleicht umbenannt oder "
      "gelöscht). Bitte stellen Sie die Spaltenüberschrift „{spalte}“ wieder her.", BASIS)
def columns(ctx: Context):
    for p in ctx.sub.problems:
        if p.kind == "column_missing":
            yield columns.rule.finding(p.sheet, p.cell, tabelle=p.name, spalte=p.detail)


@rule("TABELLE_ZU_GROSS", E, "Zu viele Tabellenzeilen",
      "Die Tabelle {tabelle} hat {anzahl} Zeilen; ausgewertet werden höchstens {grenze}. "
      "Bitte prüfen Sie, ob versehentlich Daten eingefügt wurden.",
      "Sicherheitsgrenzen (docs/security.md)")
def too_many_rows(ctx: Context):
    for p in ctx.sub.problems:
        if p.kind == "too_many_rows":
            yield too_many_rows.rule.finding(p.sheet, tabelle=p.name, anzahl=p.detail,
                                             grenze=ctx.prog.limits.max_table_rows)


@rule("ZEILE_AUSSERHALB", H, "Zeile unter der Tabelle gelesen",
      "Zeile {zeile} steht unter der Tabelle {tabelle}, nicht in ihr (die Tabelle wurde nicht "
      "erweitert). Die Zeile wurde trotzdem gelesen. Tipp: neue Zeilen in der letzten "
      "Tabellenzeile mit der Tab-Taste anlegen.", BASIS)
def rows_outside(ctx: Context):
    for ts in ctx.spec.tables:
        for row in ctx.sub.tables.get(ts.name, []):
            if row.outside_table:
                first = next(iter(row.values.values()))
                yield rows_outside.rule.finding(first.sheet, first.cell, zeile=row.number,
                                                tabelle=ts.name)
