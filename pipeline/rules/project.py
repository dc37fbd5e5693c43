"""Rules that look beyond one workbook: the registry and the application's other quarters."""

from __future__ import annotations

from pipeline.findings import Severity
from pipeline.rules import rule
from pipeline.rules.context import AppContext, Context

E, W = Severity.ERROR, Severity.WARNING


@rule("AGS_UNBEKANNT", E, "Projekt nicht im Projektverzeichnis",
      "Der Gemeindeschlüssel {ags} ist im Projektverzeichnis des Ministeriums nicht "
      "eingetragen. Bitte verwenden Sie die für Ihre Kommune vorausgefüllte Vorlage oder "
      "wenden Sie sich an das Ministerium.", "Vertrag Abschnitt 1 (Projektverzeichnis)")
def known_ags(ctx: Context):
    ags_field = ctx.spec.roles["ags"]
    v = ctx.sub.fields.get(ags_field)
    if ctx.known_ags is not None and v is not None and v.ok and v.value not in ctx.known_ags:
        yield known_ags.rule.at(v, ags=v.value)


@rule("BELEG_DOPPELT_PROJEKT", W, "Belegnummer schon in einem anderen Quartal",
      "Die Belegnummer „{nummer}“ (Zeile {zeile}) steht auch im Bericht für {anderer} "
      "(Datei {datei}, Zelle {zelle}). Bitte prüfen Sie, ob dieselbe Ausgabe zweimal "
      "abgerechnet wird; jede Ausgabe darf nur einmal gemeldet werden.",
      "Vertrag Abschnitt 2 (Belegnummer eindeutig im Projekt)", scope="projekt")
def receipt_reused(ctx: AppContext):
    """Across the application's counting submissions; the later quarter gets the warning."""
    seen: dict[str, tuple] = {}
    for ref in sorted(ctx.submissions, key=lambda s: s.period):
        roles = ref.sub.spec.roles
        for row in ref.sub.tables.get(roles["receipts_table"], []):
            v = row.values[roles["receipt_number"]]
            if not v.ok:
                continue
            key = str(v.value).strip().casefold()
            first = seen.get(key)
            if first is None:
                seen[key] = (ref, v)
            elif first[0].period != ref.period:
                yield receipt_reused.rule.at(v, nummer=v.value, zeile=row.number,
                                             anderer=first[0].period.label,
                                             datei=first[0].datei, zelle=first[1].cell
                                             ).at_file(ref.datei, ref.sha256).for_submission(
                    ctx.ags, ref.period.projektjahr, ref.period.quartal)
