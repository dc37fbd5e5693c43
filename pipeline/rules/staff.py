"""Staff costs: at most one post per month, and plausible monthly costs."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from pipeline.findings import Severity
from pipeline.money import cents
from pipeline.rules import rule
from pipeline.rules.context import Context

E, W = Severity.ERROR, Severity.WARNING


@rule("STELLE_MAX", E, "Mehr als eine Stelle im Monat",
      "Im Monat {monat} ergeben Stellenanteil × Projektanteil zusammen {summe} Stellen "
      "(Zeilen {zeilen}); gefördert wird höchstens {grenze} Stelle (ein Integrationsguide). "
      "Bitte prüfen Sie Stellenanteil und Projektanteil dieser Zeilen, z. B. ob dieselbe "
      "Person für diesen Monat doppelt eingetragen ist.",
      "Förderaufruf: eine Personalstelle (VZÄ) je Antrag")
def one_post(ctx: Context):
    r = ctx.spec.roles
    months: dict[object, list] = defaultdict(list)
    month_name, fte_name, share_name = r["staff_month"], r["staff_fte"], r["staff_share"]
    for row in ctx.sub.tables.get(r["staff_table"], []):
        month, fte, share = row.values[month_name], row.values[fte_name], row.values[share_name]
        if month.ok and fte.ok and share.ok:
            months[(month.value.year, month.value.month)].append(
                (row, fte.value * share.value / 100))
    limit = ctx.prog.money.max_fte_per_month
    for (year, month), entries in sorted(months.items()):
        total = sum((posts for _, posts in entries), Decimal(0))
        if total > limit:
            last = entries[-1][0]
            yield one_post.rule.at(last.values[r["staff_share"]], monat=f"{month:02d}/{year}",
                                   summe=total.quantize(Decimal("0.01")),
                                   zeilen=", ".join(str(e[0].number) for e in entries),
                                   grenze=limit)


@rule("PERSONAL_MONAT_HOCH", W, "Monatliche Personalkosten ungewöhnlich hoch",
      "In Zeile {zeile} stehen {betrag} € Arbeitgeberbrutto bei einem Stellenanteil von "
      "{anteil}; auf eine volle Stelle umgerechnet sind das {je_vzae} € im Monat. Förderfähig "
      "sind im Schnitt höchstens {grenze} € im Monat (Jahresgrenze / 12); der Wert liegt mehr "
      "als {toleranz} % darüber. Bitte prüfen Sie Betrag und Stellenanteil (z. B. ob ein "
      "Jahres- statt Monatsbetrag eingetragen ist); Beträge über der Jahresgrenze werden "
      "nicht gefördert.",
      "Förderaufruf: max. Personalausgaben je Projektjahr (TVöD 9b Stufe 2)")
def monthly_cost(ctx: Context):
    r, money = ctx.spec.roles, ctx.prog.money
    monthly_cap = cents(money.staff_cap_per_year / 12)
    threshold = monthly_cap * (1 + money.staff_month_tolerance)
    for row in ctx.sub.tables.get(r["staff_table"], []):
        gross, fte = row.values[r["staff_gross"]], row.values[r["staff_fte"]]
        if gross.ok and fte.ok and fte.value > 0:
            per_post = cents(gross.value / fte.value)
            if per_post > threshold:
                yield monthly_cost.rule.at(gross, zeile=row.number, betrag=gross.value,
                                           anteil=fte.value, je_vzae=per_post,
                                           grenze=monthly_cap,
                                           toleranz=int(money.staff_month_tolerance * 100))
