"""Start-up of `kisi`: the compiled code of the dataclasses' methods is kept between runs.

Python builds each dataclass's `__init__`, `__repr__`, `__eq__`, `__hash__`, … as source
text and compiles it with `exec` while the module is imported. For the ≈ 60 dataclasses a
report imports that is ≈ 300 compilations: ≈ 28 ms of a 0.1 s start-up (see
docs/performance.md, session 5). Here `dataclasses` is given an `exec` that looks the
compiled code up by its exact source text in a file beside the package's bytecode
(`__pycache__/dataclass-code.<tag>.marshal`), and compiles what it has not seen.

The same code as `exec(text)` makes: that is `exec(compile(text, "<string>", "exec"))`
with the compiler flags of `dataclasses` (none: compiled here with `dont_inherit`, so this
module's own `__future__` import does not leak in) and the interpreter's optimisation
level, which is part of the file's stamp, as is the interpreter's full version.

Like a `.pyc`, the file is trusted code: it is only read when it belongs to this user or
root and nobody else may write it, and it is only written where Python may write bytecode
(not under `PYTHONDONTWRITEBYTECODE`; `make` writes it explicitly, as it byte-compiles the
package: `python -m pipeline.startup`). A missing, foreign or damaged file, or a read-only
install, only costs the compilations. Only the `kisi` console script installs this
(`pipeline.launch`); tests and library callers import plainly.
"""

from __future__ import annotations

import builtins
import dataclasses
import marshal
import os
import sys
from types import CodeType

FORMAT = 2
STAMP = f"{FORMAT} {sys.version} -O{sys.flags.optimize}"
LIMIT = 4000  # entries; beyond, only those of the current program are kept


class KeptCode:
    def __init__(self, folder: str, write: bool = True) -> None:
        self.path = os.path.join(folder, "__pycache__",
                                 f"dataclass-code.{sys.implementation.cache_tag}.marshal")
        self.write = write
        self.known: dict[str, CodeType] = _load(self.path)
        self.used: dict[str, CodeType] = {}
        self.compiled = 0

    def exec(self, source, globals=None, locals=None):  # noqa: A002 - exec's own names
        if isinstance(source, str):
            code = self.known.get(source) or self.used.get(source)
            if code is None:
                code = compile(source, "<string>", "exec", dont_inherit=True)
                self.compiled += 1
            self.used[source] = code
            source = code
        return builtins.exec(source, globals, locals)

    def save(self) -> None:
        """Write the file if something was compiled (atomically; failures are ignored)."""
        if not self.compiled or not self.write:
            return
        import tempfile

        entries = {**self.known, **self.used}
        if len(entries) > LIMIT:
            entries = dict(self.used)
        folder = os.path.dirname(self.path)
        try:
            os.makedirs(folder, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".dataclass-code.")
        except OSError:
            return
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(marshal.dumps((STAMP, entries)))
            os.chmod(tmp, 0o644)
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
            st = os.fstat(fh.fileno())
            if st.st_uid not in (os.getuid(), 0) or st.st_mode & 0o022:
                return {}  # someone else could have written it: not ours to run
            stamp, entries = marshal.loads(fh.read())
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    if stamp != STAMP or not isinstance(entries, dict):
        return {}
    return {k: v for k, v in entries.items()
            if isinstance(k, str) and isinstance(v, CodeType)}


_kept: KeptCode | None = None


def keep_dataclass_code(folder: str, write: bool | None = None) -> None:
    """Install the kept code for every dataclass made from now on in this process;
    `write`: whether to remember new code (default: unless bytecode is not written)."""
    global _kept
    if _kept is None:
        _kept = KeptCode(folder, not sys.dont_write_bytecode if write is None else write)
        dataclasses.exec = _kept.exec  # type: ignore[attr-defined]  # shadows the builtin


def save() -> None:
    """Remember what was compiled since the last call (no-op unless installed)."""
    if _kept is not None:
        _kept.save()


def main(folder: str | None = None) -> None:
    """Write the file for everything `kisi report` imports (run by `make`; into the
    package's `__pycache__` unless another folder is given)."""
    keep_dataclass_code(folder or os.path.dirname(os.path.abspath(__file__)), write=True)
    import pipeline.cli  # noqa: F401
    import pipeline.report

    pipeline.report.import_rendering()
    save()


if __name__ == "__main__":
    main(*sys.argv[1:2])
