"""ausnahmen_angewendet.csv: which warnings an analyst accepted, by whom and why."""

from __future__ import annotations

from pathlib import Path

from pipeline.outputs.atomic import write_bytes
from pipeline.outputs.csvs import render

COLUMNS = ["datei", "sha256", "projekt_ags", "projektjahr", "quartal", "blatt", "zelle",
           "regel", "meldung", "begruendung", "von", "datum", "ausnahme_zeile"]


def write_applied(path: Path, applied: list) -> None:
    rows = [[f.datei, f.sha256, f.projekt_ags, f.projektjahr, f.quartal, f.blatt, f.zelle,
             f.regel, f.meldung, w.begruendung, w.von, w.datum, w.row]
            for w, f in sorted(applied, key=lambda pair: (pair[1].datei, pair[1].zelle))]
    write_bytes(path, render(COLUMNS, rows))
