"""Re-save a workbook through LibreOffice Calc (headless), as a clerk using Calc would.

Used by the LibreOffice round-trip test and by scripts/make_libreoffice_fixture.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

XLSX_FILTER = "xlsx:Calc MS Excel 2007 XML"
TIMEOUT_SECONDS = 180


class LibreOfficeError(RuntimeError):
    pass


def soffice_path() -> str | None:
    return shutil.which("soffice")


def resave_with_libreoffice(source: Path, out_dir: Path) -> Path:
    """Open `source` in LibreOffice and save it as .xlsx into `out_dir`; returns the new
    file. A private profile per process keeps parallel runs from locking each other."""
    soffice = soffice_path()
    if soffice is None:
        raise LibreOfficeError("soffice (LibreOffice) is not on PATH")
    out_dir.mkdir(parents=True, exist_ok=True)
    profile = f"file:///tmp/lo_profile_{os.getpid()}"
    command = [
        soffice,
        "--headless",
        f"-env:UserInstallation={profile}",
        "--convert-to",
        XLSX_FILTER,
        "--outdir",
        str(out_dir),
        str(source),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS)
    result = out_dir / (source.stem + ".xlsx")
    if done.returncode != 0 or not result.exists():
        raise LibreOfficeError(
            f"soffice failed ({done.returncode}): {done.stdout.strip()} {done.stderr.strip()}"
        )
    return result
