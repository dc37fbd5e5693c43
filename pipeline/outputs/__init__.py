"""Everything the report writes: CSVs for machines, workbooks for people."""

from pathlib import Path

TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "templates"
