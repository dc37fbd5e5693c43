"""The `kisi` command line. Thin: parse options, call pipeline.service, print German text."""

from __future__ import annotations

import os
import re
import sys
from datetime import date, datetime
from pathlib import Path

import click

from pipeline import __version__, service
from pipeline.progress import Progress
from pipeline.report import ConfigError

DIR = click.Path(file_okay=False, readable=False, path_type=Path)  # checked in German by the job
FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


class UsageExit(click.ClickException):
    exit_code = 2


# What strptime's "%Y-%m-%d" accepts, without strptime (its first call imports and builds
# its locale tables: ≈ 13 ms of every `kisi report --stichtag …`).
ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})", re.ASCII)


def _stichtag(_ctx, _param, value: str | None) -> date | None:
    if value is None:
        return None
    found = ISO_DATE.fullmatch(value)
    try:
        if found is None:
            raise ValueError(value)
        return date(*(int(part) for part in found.groups()))
    except ValueError:
        raise click.BadParameter(f"„{value}“ ist kein Datum im Format JJJJ-MM-TT.") from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kisi")
def main() -> None:
    """KISI-Berichtswesen: Quartalsberichte prüfen und zusammenführen."""


@main.command()
@click.option("--registry", type=FILE, help="Projektverzeichnis (.csv oder .xlsx).")
@click.option("--projektjahr", type=int, required=True, help="Projektjahr 1–3.")
@click.option("--quartal", type=int, required=True, help="Quartal 1–4 des Projektjahres.")
@click.option("--out", type=DIR, required=True, help="Zielordner für die Arbeitsmappen.")
@click.option("--blank", is_flag=True, help="Eine leere, nicht vorausgefüllte Vorlage.")
def template(registry: Path | None, projektjahr: int, quartal: int, out: Path,
             blank: bool) -> None:
    """Vorausgefüllte Quartalsberichte erzeugen, eine Datei je Projekt.

    \b
    Beispiel:
      kisi template --registry config/projektverzeichnis.csv \\
          --projektjahr 1 --quartal 2 --out vorlagen/
    """
    if registry is None and not blank:
        raise UsageExit("Bitte --registry angeben (oder --blank für eine leere Vorlage).")
    try:
        paths = service.make_templates(registry, projektjahr, quartal, out, blank)
    except ConfigError as err:
        raise UsageExit(str(err)) from err
    click.echo(f"{len(paths)} Arbeitsmappe(n) in {out} geschrieben.")


@main.command()
@click.option("--input", "inbox", type=DIR, required=True, help="Eingangsordner.")
@click.option("--output", "out", type=DIR, required=True, help="Ausgabeordner.")
@click.option("--registry", type=FILE, help="Projektverzeichnis (.csv oder .xlsx).")
@click.option("--stichtag", callback=_stichtag, help="Stichtag JJJJ-MM-TT (Standard: heute).")
@click.option("--store", type=DIR, help="Eingangsarchiv und Eingangsbuch (Standard: "
              "AUSGABE/eingangsarchiv).")
def report(inbox: Path, out: Path, registry: Path | None, stichtag: date | None,
           store: Path | None) -> None:
    """Alle Eingänge prüfen, zusammenführen und die Berichte schreiben.

    \b
    Beispiel:
      kisi report --input input --output output \\
          --registry config/projektverzeichnis.csv --stichtag 2026-02-15
    """
    try:
        progress = Progress()
        result = service.report(inbox, out, registry, stichtag, store, progress)
    except ConfigError as err:
        raise UsageExit(str(err)) from err
    if not result.entries:
        click.echo(f"Im Eingangsordner „{inbox}“ liegen keine Dateien. Legen Sie die "
                   "E-Mail-Anhänge der Kommunen dort ab, oder probieren Sie es mit "
                   "Beispieldaten: make demo")
    counts = {}
    for e in result.entries:
        counts[e.status] = counts.get(e.status, 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    click.echo(f"{len(result.entries)} Datei(en) in {progress.seconds:.1f} s ausgewertet "
               f"({summary or 'keine'}); {result.errors} Fehler, {result.warnings} Warnungen. "
               f"Ergebnisse in {out}.")


@main.command()
@click.option("--output", "out", type=DIR, default="output", show_default=True,
              help="Ausgabeordner des Berichtslaufs.")
@click.option("--store", type=DIR, help="Eingangsarchiv, falls nicht im Ausgabeordner.")
@click.option("--registry", type=FILE, help="Projektverzeichnis (zeigt auch Projekte ohne "
              "Eingang).")
@click.option("--stichtag", callback=_stichtag, help="Stichtag JJJJ-MM-TT (Standard: heute).")
def status(out: Path, store: Path | None, registry: Path | None,
           stichtag: date | None) -> None:
    """Eingangsbuch je Projekt und Quartal: eingegangen, fehlerhaft, fehlt, überfällig.

    \b
    Beispiel:
      kisi status --output output --registry config/projektverzeichnis.csv
    """
    try:
        click.echo(service.status(out, store, registry, stichtag or date.today()))
    except ConfigError as err:
        raise UsageExit(str(err)) from err


@main.command()
@click.argument("files", nargs=-1, required=True, type=FILE)
@click.option("--registry", type=FILE, help="Projektverzeichnis, um den AGS zu prüfen.")
def validate(files: tuple[Path, ...], registry: Path | None) -> None:
    """Einzelne Arbeitsmappen prüfen; Exit-Code 1, wenn eine Fehler enthält.

    \b
    Beispiel:
      kisi validate input/06431901_PJ1_Q2.xlsx
    """
    try:
        results = service.validate_files(list(files), registry)
    except ConfigError as err:
        raise UsageExit(str(err)) from err
    any_error = False
    for checked in results:
        click.echo(service.format_findings(checked))
        any_error |= checked.errors > 0
    raise SystemExit(1 if any_error else 0)


@main.command()
@click.option("--output", "out", type=DIR, required=True, help="Zielordner für die Demo.")
@click.option("--stichtag", callback=_stichtag, default="2027-02-15",
              help="Stichtag JJJJ-MM-TT für die Demo (Standard: 2027-02-15).")
def demo(out: Path, stichtag: date) -> None:
    """Fiktive Beispieldaten erzeugen (mit typischen Fehlern) und auswerten.

    \b
    Beispiel:
      kisi demo --output demo
    """
    result = service.demo(out, stichtag)
    click.echo(f"Demo: {len(result.entries)} Dateien in {out / 'eingang'}, "
               f"{result.errors} Fehler, {result.warnings} Warnungen. "
               f"Berichte in {out / 'ausgabe'}.")


@main.group()
def server() -> None:
    """Hintergrunddienst: hält das Programm geladen, damit jeder weitere kisi-Befehl ohne
    Startzeit läuft (ein Bericht mit einer neuen Datei: ≈ 0,1 s schneller).

    \b
    Beispiel:
      kisi server start      (läuft im Hintergrund weiter)
      kisi report --input input --output output
      kisi server stop
    """


@server.command("start")
@click.option("--leerlauf", type=click.FloatRange(min=1), default=120, show_default=True,
              help="Minuten ohne Befehl, nach denen der Dienst von selbst endet.")
@click.option("--vordergrund", is_flag=True, help="Nicht in den Hintergrund gehen "
              "(Protokoll auf dem Terminal; Ende mit Strg+C).")
def server_start(leerlauf: float, vordergrund: bool) -> None:
    """Den Hintergrunddienst starten (läuft er schon, bleibt er)."""
    from pipeline.resident import server as resident

    try:
        pid = resident.start(leerlauf, foreground=vordergrund)
    except resident.ServerError as err:
        raise UsageExit(str(err)) from err
    if not vordergrund:
        click.echo(f"Hintergrunddienst läuft (PID {pid}); kisi-Befehle laufen jetzt in ihm. "
                   f"Er endet nach {leerlauf:g} Minuten ohne Befehl, mit „kisi server "
                   "stop“ sofort.")


@server.command("stop")
def server_stop() -> None:
    """Den Hintergrunddienst beenden."""
    from pipeline.resident import server as resident

    stopped = resident.stop()
    click.echo("Hintergrunddienst beendet." if stopped else "Es läuft kein Hintergrunddienst.")


@server.command("status")
def server_status() -> None:
    """Zeigen, ob der Hintergrunddienst läuft."""
    from pipeline.resident import server as resident

    reply = resident.ask("status")
    if not reply:
        click.echo("Es läuft kein Hintergrunddienst (starten: kisi server start).")
        return
    since = datetime.fromtimestamp(reply["since"]).strftime("%d.%m.%Y %H:%M")
    click.echo(f"Hintergrunddienst läuft (PID {reply['pid']}) seit {since}, "
               f"{reply['served']} Befehl(e) ausgeführt, {reply.get('kept', 0)} "
               "Prüfergebnisse vorgeladen.")


def entry() -> None:
    """The `kisi` console script: `main`, then leave without tearing the interpreter down.

    Every output is written and closed (atomically) before a command returns; freeing the
    run's millions of small objects one by one at exit only costs time (≈ 0.2 s for the
    432-workbook benchmark). Tests call `main` through click's runner, never this."""
    try:
        main()
    except SystemExit as done:
        code = done.code
    else:  # pragma: no cover - click always exits
        code = 0
    if isinstance(code, str):  # an exit with a message: print it as Python would
        print(code, file=sys.stderr)
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    from pipeline.forked import reap_ended

    reap_ended(block=True)  # the children that rendered (their output is written): count their time
    os._exit(code if isinstance(code, int) else 0)
