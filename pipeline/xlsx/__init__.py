"""A small, defensive XLSX reader: cells with addresses, defined names, tables.

Reads the few XML parts we need straight from the zip with expat (no DTDs, no entities),
keeps both a formula and its cached value, and enforces size limits while inflating.
"""

from pipeline.xlsx.model import DefinedName, RawCell, RawWorkbook, TableDef, XlsxError
from pipeline.xlsx.reader import read_xlsx

__all__ = ["DefinedName", "RawCell", "RawWorkbook", "TableDef", "XlsxError", "read_xlsx"]
