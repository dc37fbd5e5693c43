"""uebersicht.html: one self-contained page for the analyst (status, key figures, charts).

Rendered with jinja2 from templates/uebersicht.html.j2 with autoescaping on; charts are
inline SVG from pipeline.outputs.svg. No scripts, no external files, no timestamps: the
page depends only on the inputs, the registry and the Stichtag.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path

import jinja2
import jinja2.bccache

import pipeline
from pipeline.aggregate import TOTAL
from pipeline.checkcache import code_digest
from pipeline.money import fmt_eur
from pipeline.outputs import TEMPLATE_DIR, svg
from pipeline.outputs.atomic import write_bytes
from pipeline.outputs.ministry import kpis
from pipeline.outputs.view import ReportView
from pipeline.periods import german_date
from pipeline.select import FAULTY, REJECTED
from pipeline.status import FAULTY_LABEL, MISSING, NOT_DUE, OVERDUE, RECEIVED

TEMPLATE = "uebersicht.html.j2"
CSS_CLASS = {RECEIVED: "ok", FAULTY_LABEL: "bad", OVERDUE: "late", MISSING: "open",
             NOT_DUE: "future"}
# Short cell texts keep the matrix on one screen; the full word is in each cell's title.
SHORT = {RECEIVED: "✓", FAULTY_LABEL: "✗ Fehler", NOT_DUE: "–"}
SPEND = (("personal_foerderfaehig", "Personal", "#2f5597"),
         ("honorar_foerderfaehig", "Honorare", "#70ad47"),
         ("ehrenamt_foerderfaehig", "Ehrenamt", "#ffc000"),
         ("restkostenpauschale", "Pauschale", "#a5a5a5"))


def fmt_int(value: object) -> str:
    return f"{int(value):,}".replace(",", ".")  # type: ignore[call-overload]


def fmt_pct(value: object) -> str:
    return f"{float(value) * 100:.1f} %".replace(".", ",")  # type: ignore[arg-type]


def fmt_money(value: object) -> str:
    return fmt_eur(Decimal(str(value)))


FORMATTERS = {"int": fmt_int, "money": fmt_money, "pct": fmt_pct}


def environment(cache: Path | None = None) -> jinja2.Environment:
    """`cache`: a folder to keep the compiled template in (see `CodeCache`)."""
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
                              autoescape=True, undefined=jinja2.StrictUndefined,
                              keep_trailing_newline=True,
                              bytecode_cache=CodeCache(cache) if cache is not None else None)


class CodeCache(jinja2.BytecodeCache):
    """The compiled template in a file of the caller's state folder: compiling it is half
    the cost of the page (≈ 6 ms). An entry counts only for the same program source (which
    holds the environment's options) and jinja2 version (its first line), and jinja2
    accepts it only for the same template source (SHA-1), bytecode version and Python;
    anything else, or a file that does not load, is compiled again and rewritten. The page
    is the same as from a fresh compilation (the same code)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.stamp = hashlib.sha256(f"{code_digest()} {jinja2.__version__}".encode()) \
            .hexdigest().encode() + b"\n"

    def _path(self, bucket: jinja2.bccache.Bucket) -> Path:
        return self.folder / f"vorlage-{bucket.key}.jinja"

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            data = self._path(bucket).read_bytes()
        except OSError:
            return
        if not data.startswith(self.stamp):
            return
        try:
            bucket.bytecode_from_string(data[len(self.stamp):])
        except Exception:  # noqa: BLE001 - a damaged entry is compiled again
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            write_bytes(self._path(bucket), self.stamp + bucket.bytecode_to_string(),
                        durable=False)
        except OSError:
            pass  # only a cache: the next run compiles again


def context(view: ReportView) -> dict[str, object]:
    registry = view.result.registry_path
    return {
        "title": "KISI – Übersicht",
        "programme": view.prog.name,
        "stichtag": german_date(view.stichtag),
        "registry": registry.name if registry else "",
        "version": pipeline.__version__,
        "kpis": [(label, FORMATTERS[kind](value)) for label, value, kind in kpis(view)],
        "periods": [p.label for p in view.periods],
        "legend": [(status, css, SHORT.get(status, status)) for status, css in CSS_CLASS.items()],
        "rows": matrix_rows(view),
        "charts": charts(view),
        "unused": unused_files(view),
    }


def matrix_rows(view: ReportView) -> list[dict[str, object]]:
    rows = []
    for app in view.apps:
        usage = view.usage(app.ags)
        rows.append({
            "ags": app.ags, "name": app.name, "landkreis": app.landkreis,
            "cells": [_cell(view.matrix[app.ags][p]) for p in view.periods],
            "zuwendung": fmt_money(view.fig(app.ags, None, None, "zuwendung")),
            "usage": fmt_pct(usage) if usage is not None else "–",
        })
    return rows


def _cell(status: str) -> tuple[str, str, str]:
    return status, CSS_CLASS[status], SHORT.get(status, status)


def charts(view: ReportView) -> list[tuple[str, object]]:
    periods = view.shown_periods
    labels = [p.label for p in periods]

    def per_quarter(key: str) -> list[Decimal | int]:
        return [view.fig(TOTAL, p.projektjahr, p.quartal, key) for p in periods]

    spend = svg.columns(labels, [svg.Series(name, per_quarter(key), colour)
                                 for key, name, colour in SPEND],
                        "Förderfähige Ausgaben je Quartal", _axis_eur)
    people = svg.columns(labels, [svg.Series("neue Teilnehmende", per_quarter("tn_gesamt"),
                                             "#70ad47")],
                         "Neue Teilnehmende je Quartal", fmt_int)
    funding = svg.progress_bars([a.name or a.ags for a in view.apps],
                                [view.fig(a.ags, None, None, "zuwendung") for a in view.apps],
                                [a.approval for a in view.apps],
                                "Zuwendung bisher und Bewilligung je Projekt", fmt_money)
    return [("Förderfähige Ausgaben je Quartal (alle Projekte)", spend),
            ("Neue Teilnehmende je Quartal (alle Projekte)", people),
            ("Zuwendung bisher je Projekt (hell: Bewilligung)", funding)]


def _axis_eur(value: object) -> str:
    return fmt_int(round(float(value))) + " €"  # type: ignore[arg-type]


def unused_files(view: ReportView) -> list[dict[str, object]]:
    """Received files that could not be used (status fehlerhaft or abgelehnt)."""
    out = []
    for e in sorted(view.result.entries, key=lambda e: e.received.datei):
        if e.status not in (FAULTY, REJECTED):
            continue
        first = next((f.meldung for f in e.checked.findings if f.is_error), "")
        key = e.key
        out.append({"datei": e.received.datei, "status": e.status,
                    "period": f"{key[0]} PJ{key[1]} Q{key[2]}" if key else "",
                    "errors": e.checked.errors, "first": first})
    return out


def render(view: ReportView, cache: Path | None = None) -> str:
    return environment(cache).get_template(TEMPLATE).render(**context(view))


def write_html(path: Path, view: ReportView, cache: Path | None = None) -> None:
    """`cache`: the folder of the compiled template (the caller's state folder)."""
    write_bytes(path, render(view, cache).encode("utf-8"))
