"""The progress line: on a terminal only, quiet in CI and when piped."""

from __future__ import annotations

import io

from pipeline.progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_sees_the_bar_the_next_step_and_a_final_newline(monkeypatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    out = Terminal()
    progress = Progress(stream=out)
    progress.start(3)
    for _ in range(3):
        progress.advance()
    progress.finish()
    progress.note("Schreibe Berichte …")
    text = out.getvalue()
    assert "Prüfe Dateien [" in text and "3/3" in text
    assert text.endswith("\nSchreibe Berichte …\n")


def test_quiet_when_piped_or_in_ci(monkeypatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    piped = io.StringIO()
    Progress(stream=piped).advance()
    assert piped.getvalue() == ""
    monkeypatch.setenv("CI", "true")
    terminal = Terminal()
    progress = Progress(stream=terminal)
    progress.start(1)
    progress.advance()
    progress.note("x")
    progress.finish()
    assert terminal.getvalue() == ""
