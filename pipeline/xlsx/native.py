"""The C scanner (pipeline/xlsx/_scan.c), when it was built, and the Python helpers it uses.

`scan` is the extension module, or None: without a C compiler the install still succeeds
(setup.py marks the extension optional) and sheet.py/parts.py use their Python handlers.
KISI_PURE_PYTHON=1 forces the Python handlers (for comparison and diagnosis). Both give the
same results; tests/test_native_scan.py holds them to it.
"""

from __future__ import annotations

import os
from types import ModuleType
from xml.parsers import expat

from pipeline.xlsx.model import RawCell, XlsxError
from pipeline.xlsx.refs import column_number, decode_xstring


def column_of(letters: str) -> tuple[int, bool]:
    """Column number and canonical (upper-case) spelling of a reference's letters, for the
    cases the C code leaves to Python (non-ASCII letters, more than three letters)."""
    return column_number(letters), letters.isupper()


def _load() -> ModuleType | None:
    if os.environ.get("KISI_PURE_PYTHON"):
        return None
    try:
        from pipeline.xlsx import _scan
    except ImportError:
        return None
    _scan.configure(RawCell, XlsxError, expat.ExpatError, column_of, decode_xstring)
    return _scan


scan: ModuleType | None = _load()
