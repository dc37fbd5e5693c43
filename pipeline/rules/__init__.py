"""The rule registry: every check is a small registered function with a stable id.

A rule owns its German message template. Rules never raise for bad data; they yield
findings. The catalogue in docs/regeln.md is rendered from this registry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pipeline.findings import Finding, Severity
from pipeline.rules.context import AppContext, Context
from pipeline.rules.fmt import fmt

SCOPES = ("datei", "einreichung", "projekt", "verzeichnis")


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    title: str
    message: str
    basis: str
    scope: str
    check: Callable[..., Iterable[Finding]] | None = None

    def finding(self, sheet: str = "", cell: str = "", value: object = None,
                severity: Severity | None = None, **params: object) -> Finding:
        text = self.message.format(**{k: fmt(v) for k, v in params.items()})
        return Finding(
            regel=self.id,
            schwere=severity or self.severity,
            meldung=text,
            blatt=sheet,
            zelle=cell,
            wert="" if value is None else fmt(value),
        )

    def at(self, v, **params: object) -> Finding:
        """A finding at a read Value (it carries sheet, cell and the raw text)."""
        return self.finding(v.sheet, v.cell, v.raw, **params)


RULES: dict[str, Rule] = {}


def rule(id: str, severity: Severity, title: str, message: str, basis: str,
         scope: str = "einreichung") -> Callable:
    """Register a check function under `id`; the function yields findings."""

    def register(func: Callable[..., Iterable[Finding]]) -> Callable:
        if id in RULES:
            raise ValueError(f"duplicate rule id {id}")
        RULES[id] = Rule(id, severity, title, message, basis, scope, func)
        func.rule = RULES[id]  # type: ignore[attr-defined]
        return func

    return register


def declare(id: str, severity: Severity, title: str, message: str, basis: str,
            scope: str) -> Rule:
    """A rule whose findings are raised by intake or the registry reader, not by a check."""
    if id in RULES:
        raise ValueError(f"duplicate rule id {id}")
    RULES[id] = Rule(id, severity, title, message, basis, scope)
    return RULES[id]


def run_submission_rules(ctx: Context) -> list[Finding]:
    from pipeline.rules import load_all  # noqa: F401  (registers every rule module)

    found: list[Finding] = []
    for r in RULES.values():
        if r.scope == "einreichung" and r.check is not None:
            found.extend(r.check(ctx))
    return found


def run_application_rules(ctx: AppContext) -> list[Finding]:
    from pipeline.rules import load_all  # noqa: F401

    found: list[Finding] = []
    for r in RULES.values():
        if r.scope == "projekt" and r.check is not None:
            found.extend(r.check(ctx))
    return found
