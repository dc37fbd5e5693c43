"""Everything the report writes: CSVs for machines, workbooks for people."""
