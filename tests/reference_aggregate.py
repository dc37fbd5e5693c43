"""The pandas implementation of kennzahlen that pipeline/aggregate.py replaced (kept as
the oracle for tests/test_aggregate.py: both must give the same rows, values and types).
Only the computation is kept here; names, spec lookups and AppInfo come from the pipeline.

Consolidate: quarter facts per application -> funding results -> kennzahlen rows.

Quarter rows are the only computed level; PJ, project and GESAMT rows are sums of quarter
rows, so every level reconciles to the cent. Stock figures (spec: aggregate = "last") report
the latest quarter with a used submission instead of a sum.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from pipeline.aggregate import TOTAL, AppInfo, count_figures, stock_figures
from pipeline.facts import Facts
from pipeline.funding import FIGURES, QuarterInput
from pipeline.periods import Period, all_periods
from pipeline.spec import Programme, TemplateSpec
from tests.reference_funding import compute

COLUMNS = ["projekt_ags", "projektjahr", "quartal", "kennzahl", "wert"]


def quarter_rows(prog: Programme, spec: TemplateSpec, apps: Iterable[AppInfo],
                 facts: dict[tuple[str, Period], Facts]) -> pd.DataFrame:
    """One row per application × quarter × kennzahl, zeros where nothing was received."""
    counts = count_figures(spec)
    records = []
    for app in apps:
        reported = {p: QuarterInput(f.staff, f.fee, f.volunteer)
                    for (ags, p), f in facts.items() if ags == app.ags}
        for result in compute(prog, app.approval, reported):
            got = facts.get((app.ags, result.period))
            values: dict[str, object] = dict(result.as_dict())
            values.update({c: (got.counts.get(c, 0) if got else 0) for c in counts})
            for name in (*FIGURES, *counts):
                records.append((app.ags, result.period.projektjahr, result.period.quartal,
                                name, values[name], got is not None))
    return pd.DataFrame.from_records(records, columns=[*COLUMNS, "received"])


def _levels(q: pd.DataFrame, stocks: set[str]) -> list[pd.DataFrame]:
    flows = q[~q["kennzahl"].isin(stocks)]
    pj = flows.groupby(["projekt_ags", "projektjahr", "kennzahl"], sort=False)["wert"].sum()
    total = flows.groupby(["projekt_ags", "kennzahl"], sort=False)["wert"].sum()
    frames = [q[COLUMNS], pj.reset_index().assign(quartal=None)[COLUMNS],
              total.reset_index().assign(projektjahr=None, quartal=None)[COLUMNS]]
    stock_rows = q[q["kennzahl"].isin(stocks)]
    if len(stock_rows):
        latest = stock_rows[stock_rows["received"]]
        pj_last = (latest.sort_values("quartal").groupby(["projekt_ags", "projektjahr",
                                                           "kennzahl"]).tail(1))
        tot_last = (latest.sort_values(["projektjahr", "quartal"])
                    .groupby(["projekt_ags", "kennzahl"]).tail(1))
        frames += [_fill_stock(stock_rows, pj_last, ["projekt_ags", "projektjahr"], True),
                   _fill_stock(stock_rows, tot_last, ["projekt_ags"], False)]
    return frames


def _fill_stock(all_rows, latest, keys, keep_pj: bool) -> pd.DataFrame:
    """Latest received value per key; zero where the key had no used submission."""
    base = all_rows[[*keys, "kennzahl"]].drop_duplicates()
    merged = base.merge(latest[[*keys, "kennzahl", "wert"]], on=[*keys, "kennzahl"],
                        how="left")
    merged["wert"] = [0 if pd.isna(v) else int(v) for v in merged["wert"]]
    merged["quartal"] = None
    if not keep_pj:
        merged["projektjahr"] = None
    return merged[COLUMNS]


def kennzahlen(prog: Programme, spec: TemplateSpec, apps: list[AppInfo],
               facts: dict[tuple[str, Period], Facts]) -> pd.DataFrame:
    """All levels for each application and for all together (projekt_ags = GESAMT)."""
    q = quarter_rows(prog, spec, apps, facts)
    stocks = stock_figures(spec)
    per_app = pd.concat(_levels(q, stocks), ignore_index=True)
    all_q = (q.groupby(["projektjahr", "quartal", "kennzahl"], sort=False)
             .agg(wert=("wert", "sum"), received=("received", "any")).reset_index()
             .assign(projekt_ags=TOTAL))
    # GESAMT of a stock is the sum over applications of each one's latest value.
    gesamt = _levels(all_q[[*COLUMNS, "received"]], set())
    result = pd.concat([per_app, *gesamt], ignore_index=True)
    if stocks:
        stock_totals = (per_app[per_app["kennzahl"].isin(stocks)]
                        .groupby(["projektjahr", "quartal", "kennzahl"], dropna=False)["wert"]
                        .sum().reset_index().assign(projekt_ags=TOTAL))
        result = result[~((result["projekt_ags"] == TOTAL) & result["kennzahl"].isin(stocks))]
        result = pd.concat([result, stock_totals[COLUMNS]], ignore_index=True)
    return _sorted(result, prog, spec)


def _sorted(df: pd.DataFrame, prog: Programme, spec: TemplateSpec) -> pd.DataFrame:
    order = {name: i for i, name in enumerate((*FIGURES, *count_figures(spec)))}
    n = len(all_periods(prog)) + 1
    df = df.assign(
        _a=[(1 if a == TOTAL else 0, a) for a in df["projekt_ags"]],
        _p=[n if p is None or p != p else int(p) for p in df["projektjahr"].tolist()],
        _q=[n if q is None or q != q else int(q) for q in df["quartal"].tolist()],
        _k=[order[k] for k in df["kennzahl"]],
    )
    df = df.sort_values(["_a", "_p", "_q", "_k"], kind="stable")
    return df[COLUMNS].reset_index(drop=True)
