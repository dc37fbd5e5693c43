"""Read a KISI workbook into typed values that keep their sheet and cell address."""
