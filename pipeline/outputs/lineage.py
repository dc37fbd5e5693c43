"""herkunft.csv: the source cell behind every reported amount and count at quarter level.

One row per source cell of a used submission (`result.facts[...].sources`), with the file
and its sha256 (`result.used[...].received`). Summing `wert` per (kennzahl, projekt_ags,
projektjahr, quartal) reproduces the quarter rows of kennzahlen.csv for every figure in
`traced_figures` (tested). Not traced: `massnahmen` (a count of table rows, not of cell
values) and the derived money figures (their derivation is in pruefpfad.xlsx).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from pipeline.aggregate import count_figures
from pipeline.outputs.atomic import write_bytes
from pipeline.outputs.csvs import render
from pipeline.outputs.view import ReportView

COLUMNS = ["kennzahl", "projekt_ags", "projektjahr", "quartal", "datei", "sha256", "blatt",
           "zelle", "wert"]
REPORTED_MONEY = ("personal_gemeldet", "honorar_gemeldet", "ehrenamt_gemeldet")
UNTRACED = frozenset({"massnahmen"})


@dataclass(frozen=True)
class Lineage:
    kennzahl: str
    projekt_ags: str
    projektjahr: int
    quartal: int
    datei: str
    sha256: str
    blatt: str
    zelle: str
    wert: Decimal | int

    def as_row(self) -> list[object]:
        return [self.kennzahl, self.projekt_ags, self.projektjahr, self.quartal, self.datei,
                self.sha256, self.blatt, self.zelle, self.wert]


def traced_figures(view: ReportView) -> list[str]:
    """Kennzahlen whose quarter value is the sum of source cells, in kennzahlen order."""
    return [*REPORTED_MONEY, *(k for k in count_figures(view.spec) if k not in UNTRACED)]


def lineage(view: ReportView) -> list[Lineage]:
    """All lineage rows: by application and quarter, then figure order, then source order
    (staff rows, receipts, single fields, measures, as the reader found them)."""
    order = {name: i for i, name in enumerate(traced_figures(view))}
    shown = {a.ags for a in view.apps}
    rows = []
    for ags, period in view.used_keys():
        facts = view.result.facts.get((ags, period))
        if ags not in shown or facts is None:
            continue
        received = view.result.used[(ags, period)].received
        sources = sorted((s for s in facts.sources if s.kennzahl in order),
                         key=lambda s: order[s.kennzahl])  # stable: keeps cell order
        rows.extend(Lineage(s.kennzahl, ags, period.projektjahr, period.quartal,
                            received.datei, received.sha256, s.blatt, s.zelle, s.wert)
                    for s in sources)
    return rows


def write_lineage_csv(path: Path, rows: list[Lineage]) -> None:
    write_bytes(path, render(COLUMNS, (r.as_row() for r in rows)))
