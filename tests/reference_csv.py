"""The generic CSV renderer (`csv.writer` over `csvs.cell`): the oracle the fast renderers
of `pipeline.outputs.csvs` and `lineage` are compared with."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from pipeline.outputs.csvs import cell


def render(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return buf.getvalue().encode("utf-8")
