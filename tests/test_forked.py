"""pipeline.forked: rendering in a forked child, results and failures back in the parent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipeline.forked import Background, ChildFailed


def test_child_result_and_side_effects_reach_the_parent(tmp_path: Path) -> None:
    target = tmp_path / "child.txt"

    def render() -> list[Path]:
        target.write_text(f"geschrieben von {os.getpid()}", encoding="utf-8")
        return [target]

    job = Background(render)
    assert job.result() == [target]
    assert target.read_text(encoding="utf-8") != f"geschrieben von {os.getpid()}"


def test_an_exception_in_the_child_is_raised_again_in_the_parent() -> None:
    def full_disk() -> None:
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        Background(full_disk).result()


def test_a_child_that_dies_is_reported() -> None:
    with pytest.raises(ChildFailed):
        Background(lambda: os._exit(3)).result()


def test_an_unpicklable_exception_arrives_as_its_traceback() -> None:
    class Local(Exception):  # defined in a function: cannot be pickled
        pass

    def fails() -> None:
        raise Local("nicht übertragbar")

    with pytest.raises(ChildFailed, match="nicht übertragbar"):
        Background(fails).result()


def test_disabled_runs_in_process() -> None:
    pid = Background(os.getpid, enabled=False).result()
    assert pid == os.getpid()
    assert Background(os.getpid).result() != os.getpid()
