"""Library entry points the CLI calls: one function per command, no click in here."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pipeline.intake import direct
from pipeline.progress import Progress
from pipeline.registry import RegistryError, read_registry
from pipeline.report import ConfigError, ReportResult, check_received, run_report
from pipeline.spec import load_programme
from pipeline.validate import Checked


def make_templates(registry: Path, projektjahr: int, quartal: int, out: Path,
                   blank: bool) -> list[Path]:
    prog = load_programme()
    if not (1 <= projektjahr <= prog.project_years and 1 <= quartal <= prog.quarters_per_year):
        raise ConfigError(f"Projektjahr {projektjahr} / Quartal {quartal} gibt es nicht "
                          f"(Projektjahre 1–{prog.project_years}, Quartale "
                          f"1–{prog.quarters_per_year}).")
    # Imported here: the builder pulls in xlsxwriter (≈ 30 ms), which `kisi report` only
    # needs once it writes reports, while its workers check.
    from pipeline.template.builder import build_templates, build_workbook, template_filename

    out.mkdir(parents=True, exist_ok=True)
    if blank:
        return [build_workbook(out / template_filename(None), None)]
    try:
        apps, _findings = read_registry(registry, prog)
    except RegistryError as err:
        raise ConfigError(str(err)) from err
    return build_templates(apps, projektjahr, quartal, out)


def validate_files(paths: list[Path], registry: Path | None) -> list[Checked]:
    prog = load_programme()
    known = None
    if registry:
        try:
            apps, _ = read_registry(registry, prog)
        except RegistryError as err:
            raise ConfigError(str(err)) from err
        known = frozenset(a.ags for a in apps)
    return [check_received(direct(p), prog, known) for p in paths]


def report(inbox: Path, out: Path, registry: Path | None, stichtag: date | None,
           store: Path | None = None, progress: Progress | None = None) -> ReportResult:
    try:
        return run_report(inbox, out, registry, stichtag, store, progress)
    except RegistryError as err:
        raise ConfigError(str(err)) from err


def demo(out: Path, stichtag: date) -> ReportResult:
    from pipeline.demo import make_demo

    registry, inbox = make_demo(out)
    return run_report(inbox, out / "ausgabe", registry, stichtag)


def format_findings(checked: Checked) -> str:
    """A German, terminal-friendly table of one file's findings."""
    head = (f"{checked.datei}: {checked.errors} Fehler, {checked.warnings} Warnungen"
            + ("" if checked.readable else " (nicht lesbar)"))
    lines = [head]
    for f in checked.findings:
        place = f"{f.blatt}!{f.zelle}" if f.blatt and f.zelle else (f.blatt or "-")
        lines.append(f"  {f.schwere.value:<8} {place:<18} {f.regel:<22} {f.meldung}")
    if not checked.findings:
        lines.append("  keine Befunde")
    return "\n".join(lines)


def status(out: Path, store: Path | None, registry: Path | None, stichtag: date) -> str:
    from pipeline import ledger
    from pipeline.report import STORE_DIR
    from pipeline.status import ledger_table

    root = store or out / STORE_DIR
    if not (root / ledger.FILE_NAME).exists():
        raise ConfigError(f"Im Ordner „{root}“ gibt es noch kein Eingangsbuch. Bitte zuerst "
                          "„kisi report“ ausführen.")
    prog = load_programme()
    names = {}
    if registry:
        try:
            names = {a.ags: a.name for a in read_registry(registry, prog)[0]}
        except RegistryError as err:
            raise ConfigError(str(err)) from err
    return ledger_table(prog, list(ledger.latest(root)), names, stichtag)
