"""Shared fixtures: workbooks are built, not hoarded (see docs in pipeline/template)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline.template import Identity, build_workbook, template_filename
from pipeline.template.libreoffice import soffice_path
from pipeline.template.sample import MUSTERSTADT, valid_data


@pytest.fixture
def make_workbook(tmp_path: Path) -> Callable[..., Path]:
    """Factory: a VALID filled workbook with only the given parts changed.

    make_workbook(values={...}, rows={"tblBelege": [...]}, identity=..., cells={...})
    `values` are merged into the valid values; `rows` replace whole tables; `cells` writes
    (sheet, "A1") -> value. The file gets the real name `<ags>_PJ<N>_Q<Q>.xlsx` in its own
    folder (override with `filename`).
    """
    counter = itertools.count(1)

    def make(
        values: dict[str, object] | None = None,
        rows: dict[str, list[dict[str, object]]] | None = None,
        identity: Identity = MUSTERSTADT,
        cells: dict[tuple[str, str], object] | None = None,
        filename: str | None = None,
    ) -> Path:
        data = valid_data(identity)
        data.values.update(values or {})
        data.rows.update(rows or {})
        data.cells.update(cells or {})
        folder = tmp_path / f"wb{next(counter):03d}"
        folder.mkdir()
        return build_workbook(folder / (filename or template_filename(identity)), identity, data)

    return make


@pytest.fixture
def libreoffice() -> bool:
    """True when soffice can be used. Missing soffice FAILS the test (a skip would hide it),
    unless KISI_NO_LIBREOFFICE=1 says this environment deliberately has none."""
    if soffice_path() is not None:
        return True
    if os.environ.get("KISI_NO_LIBREOFFICE") == "1":
        return False
    pytest.fail(
        "LibreOffice (soffice) is not on PATH: apt-get install --no-install-recommends "
        "libreoffice-calc-nogui, or set KISI_NO_LIBREOFFICE=1 to run without it."
    )
