"""`kisi` keeps the compiled code of the dataclasses' methods between runs (pipeline.startup):
the same methods as without it, nothing compiled on the second start, and a damaged,
foreign or writable-by-others file only costs the compilations."""

from __future__ import annotations

import dataclasses
import json
import marshal
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import startup

ROOT = Path(__file__).resolve().parents[1]


def _start(folder: Path, *, no_bytecode: bool = False) -> dict:
    """Import the CLI and the rendering modules in a fresh interpreter with the kept code
    in `folder`; how many dataclass methods were made and how many compiled."""
    code = (
        "import json, sys, pipeline.startup as s\n"
        f"s.keep_dataclass_code({str(folder)!r})\n"
        "import pipeline.cli, pipeline.report as r\n"
        "r.import_rendering()\n"
        "print(json.dumps({'used': len(s._kept.used), 'compiled': s._kept.compiled,"
        " 'known': len(s._kept.known)}))\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    if no_bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=ROOT, env=env)
    return json.loads(done.stdout)


def _kept_file(folder: Path) -> Path:
    [kept] = (folder / "__pycache__").glob("dataclass-code.*.marshal")
    return kept


def test_the_second_start_compiles_no_dataclass_method(tmp_path):
    first = _start(tmp_path)
    assert first["used"] > 200 and first["compiled"] == 0 and first["known"] == first["used"]
    stamp, entries = marshal.loads(_kept_file(tmp_path).read_bytes())
    assert stamp == startup.STAMP and len(entries) == first["used"]
    assert _start(tmp_path) == {"used": first["used"], "compiled": 0, "known": first["used"]}


def test_without_bytecode_writing_nothing_is_written_but_make_writes_it(tmp_path):
    assert _start(tmp_path, no_bytecode=True)["compiled"] > 200
    assert not (tmp_path / "__pycache__").exists()
    subprocess.run([sys.executable, "-m", "pipeline.startup", str(tmp_path)], check=True,
                   cwd=ROOT, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert marshal.loads(_kept_file(tmp_path).read_bytes())[0] == startup.STAMP
    assert _start(tmp_path, no_bytecode=True)["compiled"] == 0


def _point(exec_fn=None):
    """The same dataclass, made with `exec_fn` as dataclasses' exec (or plainly)."""
    if exec_fn is not None:
        dataclasses.exec = exec_fn
    try:
        @dataclasses.dataclass(frozen=True)
        class Point:
            x: int
            y: list[int] | None = None

        return Point
    finally:
        if exec_fn is not None:
            del dataclasses.exec


def test_kept_code_makes_the_same_methods_as_plain_dataclasses(tmp_path):
    plain = _point()
    kept = startup.KeptCode(str(tmp_path))
    made = _point(kept.exec)
    assert kept.compiled >= 5
    kept.save()
    again = startup.KeptCode(str(tmp_path))
    from_file = _point(again.exec)
    assert again.compiled == 0
    for cls in (made, from_file):
        for name in ("__init__", "__repr__", "__eq__", "__hash__", "__setattr__"):
            ours, theirs = getattr(cls, name), getattr(plain, name)
            assert ours.__annotations__ == theirs.__annotations__, name
            assert ours.__code__.co_flags == theirs.__code__.co_flags, name
            assert ours.__code__.co_code == theirs.__code__.co_code, name
        assert cls(1) == cls(1, None) and repr(cls(1)).endswith("Point(x=1, y=None)")
        assert hash(cls(1, None)) == hash(plain(1, None))
        with pytest.raises(dataclasses.FrozenInstanceError):
            cls(1).x = 3  # type: ignore[misc]


@pytest.mark.parametrize("damage", ["truncated", "other python", "not marshal",
                                    "writable by others"])
def test_a_damaged_or_foreign_file_is_not_used(tmp_path, damage):
    kept = startup.KeptCode(str(tmp_path))
    _point(kept.exec)
    made = kept.compiled
    kept.save()
    path = Path(kept.path)
    data = path.read_bytes()
    if damage == "writable by others":
        path.chmod(0o666)
    else:
        path.write_bytes({"truncated": data[: len(data) // 2],
                          "other python": marshal.dumps(("2 2.7.18 -O0",
                                                         marshal.loads(data)[1])),
                          "not marshal": b"\x00garbage"}[damage])
    again = startup.KeptCode(str(tmp_path))
    assert again.known == {}
    _point(again.exec)
    assert again.compiled == made > 0
    again.save()  # replaced by a good file, not writable by others
    assert path.read_bytes() == data and not path.stat().st_mode & 0o022


def test_an_unwritable_place_costs_nothing_but_the_compilations(tmp_path):
    folder = tmp_path / "a-file"  # (root may write anywhere: a file cannot hold a folder)
    folder.write_text("x")
    kept = startup.KeptCode(str(folder))
    kept.exec(compile("x = 1", "<string>", "exec"), {}, {})
    kept.exec("y = 2", {}, ns := {})
    assert ns == {"y": 2} and kept.compiled == 1
    kept.save()  # no error, nothing written
    assert folder.read_text() == "x" and list(tmp_path.iterdir()) == [folder]
