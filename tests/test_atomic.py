"""Atomic writes: durable files are renamed into place only after their fsync, also when a
background thread does it (synced_in_background)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipeline.forked import Background
from pipeline.outputs import atomic
from pipeline.outputs.atomic import synced_in_background, write_bytes, write_with


def _temp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob(".*.tmp"))


def test_background_sync_puts_every_file_in_place_after_its_fsync(tmp_path, monkeypatch):
    events: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}").rsplit("/", 1)[-1]))
        real_fsync(fd)

    def replace(src, dst):
        events.append(("replace", Path(dst).name))
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "fsync", fsync)
    monkeypatch.setattr(atomic.os, "replace", replace)
    (tmp_path / "b.csv").write_bytes(b"old")
    with synced_in_background():
        write_bytes(tmp_path / "a.csv", b"eins")
        write_with(tmp_path / "b.csv", lambda p: p.write_bytes(b"zwei"))
        write_bytes(tmp_path / "c.csv", b"drei", durable=False)  # not durable: at once
        assert (tmp_path / "c.csv").read_bytes() == b"drei"
    assert (tmp_path / "a.csv").read_bytes() == b"eins"
    assert (tmp_path / "b.csv").read_bytes() == b"zwei"
    assert _temp_files(tmp_path) == []
    done = [e for e in events if e[1] != "c.csv"]
    # each durable file: fsync of its temp file, then the rename; in the order written
    assert [kind for kind, _ in done] == ["fsync", "replace", "fsync", "replace"]
    assert done[0][1].startswith(".a.csv.") and done[1][1] == "a.csv"
    assert done[2][1].startswith(".b.csv.") and done[3][1] == "b.csv"


def test_a_failed_rename_is_raised_and_later_files_are_not_put_in_place(tmp_path,
                                                                        monkeypatch):
    def replace(src, dst):
        if Path(dst).name == "a.csv":
            raise OSError(28, "Auf dem Gerät ist kein Speicherplatz mehr verfügbar")
        os.rename(src, dst)

    monkeypatch.setattr(atomic.os, "replace", replace)
    with pytest.raises(OSError, match="Speicherplatz"), synced_in_background():
        write_bytes(tmp_path / "a.csv", b"eins")
        write_bytes(tmp_path / "b.csv", b"zwei")
    assert not (tmp_path / "a.csv").exists() and not (tmp_path / "b.csv").exists()
    assert _temp_files(tmp_path) == []


def test_an_error_in_the_block_still_finishes_the_files_written_before(tmp_path):
    with pytest.raises(RuntimeError), synced_in_background():
        write_bytes(tmp_path / "a.csv", b"eins")
        raise RuntimeError("Abbruch")
    assert (tmp_path / "a.csv").read_bytes() == b"eins"
    assert _temp_files(tmp_path) == []
    write_bytes(tmp_path / "b.csv", b"zwei")  # outside the block: written at once
    assert (tmp_path / "b.csv").read_bytes() == b"zwei"


def test_a_forked_child_writes_its_files_itself(tmp_path):
    """The child inherits the module's state but not the thread: it must not queue."""
    with synced_in_background():
        job = Background(lambda: (write_bytes(tmp_path / "kind.csv", b"kind"),
                                  (tmp_path / "kind.csv").read_bytes())[1])
        assert job.result() == b"kind"
