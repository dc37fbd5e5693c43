"""`kisi` keeps the compiled code of the dataclasses' methods between runs (pipeline.startup):
the same code as compiling afresh, nothing compiled on the second start, and a damaged or
foreign file only costs the compilations."""

from __future__ import annotations

import dataclasses
import json
import marshal
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import startup

ROOT = Path(__file__).resolve().parents[1]


def _start(folder: Path) -> dict:
    """Import the CLI and the rendering modules in a fresh interpreter with the kept code
    in `folder`; what was compiled and how many dataclass methods were made."""
    code = (
        "import json, sys, pipeline.startup as s\n"
        f"s.keep_dataclass_code({str(folder)!r})\n"
        "import pipeline.cli, pipeline.report as r\n"
        "s.save()\n"
        "compiled = s._kept.compiled\n"
        "r.import_rendering()\n"
        "print(json.dumps({'used': len(s._kept.used), 'compiled_left': compiled + "
        "s._kept.compiled}))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=ROOT)
    return json.loads(done.stdout)


def test_the_second_start_compiles_no_dataclass_method_and_the_code_is_the_same(tmp_path):
    first = _start(tmp_path)
    assert first["used"] > 200  # the ≈ 60 dataclasses of a report run
    [kept] = (tmp_path / "__pycache__").glob("dataclass-code.*.marshal")
    stamp, entries = marshal.loads(kept.read_bytes())
    assert stamp == sys.version and len(entries) == first["used"]
    for source, code in entries.items():
        assert code == compile(source, "<string>", "exec")
    again = _start(tmp_path)
    assert again == {"used": first["used"], "compiled_left": 0}


@pytest.mark.parametrize("damage", ["truncated", "other python", "not marshal"])
def test_a_damaged_or_foreign_file_is_compiled_again_and_replaced(tmp_path, damage):
    first = _start(tmp_path)
    [kept] = (tmp_path / "__pycache__").glob("dataclass-code.*.marshal")
    data = kept.read_bytes()
    kept.write_bytes({"truncated": data[: len(data) // 2],
                      "other python": marshal.dumps(("2.7.18", marshal.loads(data)[1])),
                      "not marshal": b"\x00garbage"}[damage])
    assert _start(tmp_path)["used"] == first["used"]
    assert marshal.loads(kept.read_bytes()) == marshal.loads(data)
    assert _start(tmp_path)["compiled_left"] == 0


def test_kept_code_makes_the_same_dataclass(tmp_path, monkeypatch):
    kept = startup.KeptCode(str(tmp_path))
    monkeypatch.setattr(dataclasses, "exec", kept.exec, raising=False)

    @dataclasses.dataclass(frozen=True)
    class Point:
        x: int
        y: int = 2

    assert kept.compiled >= 4 and Point(1) == Point(1, 2)
    assert repr(Point(1)).endswith("Point(x=1, y=2)")
    with pytest.raises(dataclasses.FrozenInstanceError):
        Point(1).x = 3  # type: ignore[misc]
    kept.save()
    again = startup.KeptCode(str(tmp_path))
    monkeypatch.setattr(dataclasses, "exec", again.exec, raising=False)

    @dataclasses.dataclass(frozen=True)
    class Point:  # noqa: F811 - the same class made again, from the kept code
        x: int
        y: int = 2

    assert again.compiled == 0 and hash(Point(1)) == hash((1, 2))


def test_an_unwritable_place_costs_nothing_but_the_compilations(tmp_path):
    folder = tmp_path / "a-file"  # (root may write anywhere: a file cannot hold a folder)
    folder.write_text("x")
    kept = startup.KeptCode(str(folder))
    kept.exec(compile("x = 1", "<string>", "exec"), {}, {})
    kept.exec("y = 2", {}, ns := {})
    assert ns == {"y": 2} and kept.compiled == 1
    kept.save()  # no error, nothing written
    assert folder.read_text() == "x" and list(tmp_path.iterdir()) == [folder]
