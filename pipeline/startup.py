"""Start-up of `kisi`: the compiled code of the dataclasses' methods is kept between runs.

Python builds each dataclass's `__init__`, `__repr__`, `__eq__`, `__hash__`, … as source
text and compiles it with `exec` while the module is imported. For the ≈ 60 dataclasses a
report imports that is ≈ 300 compilations: ≈ 28 ms of a 0.1 s start-up (measured with
`scripts/bench.py`'s warm run, see docs/performance.md). Here `dataclasses` is given an
`exec` that looks the compiled code up by its exact source text in a file beside the
package's bytecode (`__pycache__`), and compiles (and remembers) what it has not seen.

Exactly what `exec(text)` does: `exec` of a string is `exec(compile(text, "<string>",
"exec"))`, and a code object depends only on its source text and the interpreter, which
names the file (its full version string is checked too). A missing, unreadable or damaged
file, or a read-only install, only costs the compilations. Only the `kisi` console script
installs this (`pipeline.launch`); tests and library callers import plainly.
"""

from __future__ import annotations

import builtins
import dataclasses
import marshal
import os
import sys
from types import CodeType

STAMP = sys.version
LIMIT = 4000  # entries; beyond, only those of the current program are kept


class KeptCode:
    def __init__(self, folder: str) -> None:
        self.path = os.path.join(folder, "__pycache__",
                                 f"dataclass-code.{sys.implementation.cache_tag}.marshal")
        self.known: dict[str, CodeType] = _load(self.path)
        self.used: dict[str, CodeType] = {}
        self.compiled = 0

    def exec(self, source, globals=None, locals=None):  # noqa: A002 - exec's own names
        if isinstance(source, str):
            code = self.known.get(source) or self.used.get(source)
            if code is None:
                code = compile(source, "<string>", "exec")
                self.compiled += 1
            self.used[source] = code
            source = code
        return builtins.exec(source, globals, locals)

    def save(self) -> None:
        """Write the file if something was compiled (atomically; failures are ignored)."""
        if not self.compiled:
            return
        entries = {**self.known, **self.used}
        if len(entries) > LIMIT:
            entries = dict(self.used)
        tmp = f"{self.path}.{os.getpid()}.tmp"
        try:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            with open(tmp, "wb") as fh:
                fh.write(marshal.dumps((STAMP, entries)))
            os.replace(tmp, self.path)
        except OSError:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            return
        self.known, self.compiled = entries, 0


def _load(path: str) -> dict[str, CodeType]:
    try:
        with open(path, "rb") as fh:
            stamp, entries = marshal.loads(fh.read())
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    if stamp != STAMP or not isinstance(entries, dict):
        return {}
    return {k: v for k, v in entries.items()
            if isinstance(k, str) and isinstance(v, CodeType)}


_kept: KeptCode | None = None


def keep_dataclass_code(folder: str) -> None:
    """Install the kept code for every dataclass made from now on in this process."""
    global _kept
    if _kept is None:
        _kept = KeptCode(folder)
        dataclasses.exec = _kept.exec  # type: ignore[attr-defined]  # shadows the builtin


def save() -> None:
    """Remember what was compiled since the last call (no-op unless installed)."""
    if _kept is not None:
        _kept.save()
