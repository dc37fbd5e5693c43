"""What the feedback of earlier runs was made of, so a rerun can leave unchanged files alone.

Per base name (`<ags>_PJ<n>_Q<q>_<sha8>`) one record (`pipeline.outputs.records`): the
digest of everything its files are made of, and size, mtime, ctime and inode of each file
as it was when we wrote it. A submission's files are skipped only if its digest is the
recorded one and every file is still exactly the one we wrote. The records live in one JSON
file in a folder the caller owns; anything unreadable there just means "write everything
again". With them: texts the email package made for earlier drafts (kept.py).

The digest covers the program (version, a digest of its source, the programme and template
specs, the openpyxl, Python and zlib versions that shape the bytes) and, per submission,
every value passed to the renderers or what the program makes it from (`_Job.inputs`:
e.g. the period instead of its dates and deadline, a key figure's value instead of its
line).
"""

from __future__ import annotations

import hashlib
import importlib.util
import platform
import re
import zlib
from functools import cache
from pathlib import Path

import pipeline
from pipeline.checkcache import code_digest
from pipeline.outputs import records
from pipeline.spec import Programme, load_programme, load_template, template_versions

FILE = "rueckmeldungen.marshal"
OLD_FILE = "rueckmeldungen.json"  # what earlier versions kept: removed


@cache
def _openpyxl_version() -> str:
    """openpyxl's version without importing it (≈ 0.15 s with numpy: a run that writes
    no workbook with openpyxl never loads it): read from the package's `_constants.py`,
    where openpyxl keeps it (≈ 0.2 ms; importlib.metadata, the fallback, costs 10 ms, as
    it pulls in the email package)."""
    try:
        spec = importlib.util.find_spec("openpyxl")
        text = Path(spec.origin).with_name("_constants.py").read_text(encoding="utf-8")
        found = _VERSION.search(text)
        if found:
            return found.group(1)
    except (ImportError, ValueError, AttributeError, TypeError, OSError):
        pass
    from importlib.metadata import version

    return version("openpyxl")


_VERSION = re.compile(r"""^__version__ = ["']([^"']+)["']""", re.MULTILINE)


def environment(prog: Programme) -> str:
    """Everything besides the submission itself that shapes the feedback files."""
    parts = [pipeline.__version__, code_digest(), prog.digest, load_programme().digest,
             *(load_template(v).digest for v in template_versions()),
             _openpyxl_version(), platform.python_implementation(),
             platform.python_version(), zlib.ZLIB_RUNTIME_VERSION]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


class Records(records.Records):
    """The records of one feedback folder, kept in `folder/FILE`."""

    def __init__(self, folder: Path, prog: Programme) -> None:
        super().__init__(folder / FILE, environment(prog))
        (folder / OLD_FILE).unlink(missing_ok=True)
