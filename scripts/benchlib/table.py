"""The machine description, the targets and the printed tables."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

MB = 1_000_000


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def machine() -> dict[str, Any]:
    cpuinfo = _read("/proc/cpuinfo")
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines()
                  if line.startswith("model name")), platform.processor() or "unknown")
    meminfo = _read("/proc/meminfo")
    mem_kb = next((int(line.split()[1]) for line in meminfo.splitlines()
                   if line.startswith("MemTotal:")), 0)
    versions = {}
    for dist in ("pandas", "openpyxl", "xlsxwriter", "kisi-berichtswesen"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "-"
    return {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "cpu_model": model,
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "libraries": versions,
    }


@dataclass
class Target:
    name: str
    value: float | None
    limit: float
    unit: str
    higher_is_better: bool = False
    stretch: bool = False
    cpu_value: float | None = None

    @property
    def passed(self) -> bool | None:
        if self.value is None:
            return None
        return self.value >= self.limit if self.higher_is_better else self.value <= self.limit

    @property
    def verdict(self) -> str:
        if self.passed is None:
            return "n/a"
        return "PASS" if self.passed else ("miss (stretch)" if self.stretch else "FAIL")

    def fmt(self, x: float) -> str:
        if self.unit == "×":
            return f"{x:.2f}×"
        if self.unit == "%":
            return f"{x * 100:.1f} %"
        if self.unit == "MB":
            return f"{x / MB:.0f} MB"
        return f"{x:.1f} {self.unit}"

    def as_dict(self) -> dict[str, Any]:
        return {"target": self.name, "value": self.value, "limit": self.limit,
                "unit": self.unit, "higher_is_better": self.higher_is_better,
                "stretch": self.stretch, "cpu_value": self.cpu_value, "verdict": self.verdict}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Target:
        return cls(d["target"], d["value"], d["limit"], d["unit"], d["higher_is_better"],
                   d["stretch"], d.get("cpu_value"))


def render(headers: list[str], rows: list[list[str]], markdown: bool = False) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(headers)]
    if markdown:
        lines = ["| " + " | ".join(headers) + " |",
                 "| " + " | ".join("---" for _ in headers) + " |"]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True)))

    return "\n".join([line(headers), "  ".join("-" * w for w in widths),
                      *(line(r) for r in rows)])


def target_rows(targets: list[Target]) -> list[list[str]]:
    return [[t.name, "-" if t.value is None else t.fmt(t.value),
             "" if t.cpu_value is None else t.fmt(t.cpu_value),
             ("≥ " if t.higher_is_better else "≤ ") + t.fmt(t.limit), t.verdict]
            for t in targets]
