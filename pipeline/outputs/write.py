"""Write every output of a report run: one entry per file in `write_outputs`."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pipeline.forked import Background
from pipeline.outputs import csvs
from pipeline.outputs.amif_xlsx import write_amif_workbook
from pipeline.outputs.audit import write_audit_workbook
from pipeline.outputs.html import write_html
from pipeline.outputs.lineage import lineage, write_lineage_csv
from pipeline.outputs.ministry import write_ministry_workbook
from pipeline.outputs.view import ReportView
from pipeline.spec import Programme

BACKGROUND = "pruefpfad.xlsx"


def write_outputs(result, out_dir: Path, prog: Programme, stichtag: date,
                  parallel: bool = False) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    intake_rows = []
    for e in result.entries:
        key = e.key or ("", None, None)
        errors, warnings = e.checked.errors, e.checked.warnings
        intake_rows.append([e.received.datei, e.received.sha256,
                            e.received.eingang.isoformat(), key[0], key[1], key[2],
                            e.status, errors, warnings])
    view = ReportView(result, prog, stichtag)
    fig_rows = view.figure_rows
    rows = lineage(view)  # herkunft.csv and pruefpfad.xlsx show the same rows
    targets = {
        "befunde.csv": lambda p: csvs.write_findings(p, result.findings),
        "eingaenge.csv": lambda p: csvs.write_intake(p, intake_rows),
        "kennzahlen.csv": lambda p: csvs.write_figures(p, fig_rows),
        "herkunft.csv": lambda p: write_lineage_csv(p, rows),
        "bericht_ministerium.xlsx": lambda p: write_ministry_workbook(p, view),
        "bericht_amif.xlsx": lambda p: write_amif_workbook(p, view),
        "pruefpfad.xlsx": lambda p: write_audit_workbook(p, view, rows),
        "uebersicht.html": lambda p: write_html(p, view),
    }
    # The audit workbook, the largest, in a forked child on the other core (the feedback,
    # the other large part, runs in a child of the report; on a warm run it is skipped).
    audit = targets.pop(BACKGROUND)
    job = Background(lambda: audit(out_dir / BACKGROUND), enabled=parallel)
    for name, write in targets.items():
        write(out_dir / name)
        result.outputs.append(out_dir / name)
    job.result()
    result.outputs.append(out_dir / BACKGROUND)

