"""Build a filled, valid workbook (PJ1 Q2, fictitious AGS 06431901 "Musterstadt") and
re-save it through LibreOffice Calc to tests/fixtures/libreoffice_pj1_q2.xlsx.

The fixture is a real file as LibreOffice writes it (shared strings, its own styles, its
own table and defined-name XML), for reader tests. Rerun after changing the template spec
or pipeline.template.sample:

    .venv/bin/python scripts/make_libreoffice_fixture.py
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.template import build_workbook, template_filename  # noqa: E402
from pipeline.template.libreoffice import resave_with_libreoffice  # noqa: E402
from pipeline.template.sample import MUSTERSTADT, valid_data  # noqa: E402

IDENTITY = MUSTERSTADT
TARGET = ROOT / "tests" / "fixtures" / "libreoffice_pj1_q2.xlsx"


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        source = build_workbook(
            Path(tmp) / template_filename(IDENTITY), IDENTITY, valid_data(IDENTITY)
        )
        resaved = resave_with_libreoffice(source, Path(tmp) / "out")
        TARGET.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(resaved, TARGET)
    print(f"{TARGET.relative_to(ROOT)}: {TARGET.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
