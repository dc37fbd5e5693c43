"""A progress line on long runs: on a terminal only, quiet in CI and when piped."""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, quiet: bool | None = None, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        if quiet is None:
            quiet = not self.stream.isatty() or bool(os.environ.get("CI"))
        self.quiet = quiet
        self.total = self.done = 0
        self.started = time.monotonic()
        self._last = 0.0

    def start(self, total: int) -> None:
        self.total, self.done, self.started = total, 0, time.monotonic()

    def expect(self, n: int = 1) -> None:
        """`n` more files to check (the total grows while the inbox is being read)."""
        self.total += n

    def advance(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if self.quiet or (now - self._last < 0.1 and self.done < self.total):
            return
        self._last = now
        width = 30
        filled = int(width * self.done / max(self.total, 1))
        self.stream.write(f"\rPrüfe Dateien [{'#' * filled}{'.' * (width - filled)}] "
                          f"{self.done}/{self.total}")
        self.stream.flush()

    def note(self, text: str) -> None:
        """A line saying what happens next (e.g. writing the reports), terminal only."""
        if not self.quiet:
            self.stream.write(f"{text}\n")
            self.stream.flush()

    def finish(self) -> None:
        if not self.quiet and self.total:
            self.stream.write("\n")
            self.stream.flush()

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started
