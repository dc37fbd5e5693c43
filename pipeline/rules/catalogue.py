"""Render the rule catalogue (docs/regeln.md) from the registry: `python -m
pipeline.rules.catalogue > docs/regeln.md`. A test fails when the file drifts."""

from __future__ import annotations

from pipeline.rules import (
    RULES,
    load_all,  # noqa: F401
)

SCOPE_TITLES = {
    "datei": "Datei (Lesbarkeit, Sicherheit)",
    "einreichung": "Einreichung (eine Arbeitsmappe)",
    "projekt": "Projekt (mehrere Quartale eines Antrags)",
    "verzeichnis": "Projektverzeichnis",
}


def render() -> str:
    lines = [
        "# Regelkatalog",
        "",
        "Automatisch erzeugt aus `pipeline/rules` (`make catalogue`); nicht von Hand ändern.",
        "Jede Regel hat eine feste Kennung (`regel` in `befunde.csv`). Schwere: Fehler "
        "(Einreichung wird nicht verwendet), Warnung (bitte prüfen), Hinweis (zur Kenntnis).",
        "",
    ]
    for scope, title in SCOPE_TITLES.items():
        rules = sorted((r for r in RULES.values() if r.scope == scope), key=lambda r: r.id)
        lines += [f"## {title}", "", "| Regel | Schwere | Bedeutung | Meldung | Grundlage |",
                  "| --- | --- | --- | --- | --- |"]
        for r in rules:
            message = r.message.replace("|", "\\|").replace("\n", " ")
            lines.append(f"| `{r.id}` | {r.severity.value} | {r.title} | {message} | "
                         f"{r.basis} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(), end="")
