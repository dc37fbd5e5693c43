"""The `kisi` command: exit codes and German texts, checked against the library."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline import service
from pipeline.cli import main
from tests.test_report import REGISTRY


def _run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_validate_clean_file_exits_0(make_workbook):
    path = make_workbook()
    result = _run("validate", str(path))
    assert result.exit_code == 0
    assert "0 Fehler, 0 Warnungen" in result.output and "keine Befunde" in result.output


def test_validate_prints_the_library_findings_and_exits_1(make_workbook):
    path = make_workbook(values={"TN_WEIBLICH": 40})
    result = _run("validate", str(path))
    assert result.exit_code == 1
    expected = service.format_findings(service.validate_files([path], None)[0])
    assert result.output.strip() == expected.strip()
    assert "SUMME" in result.output and "Aufschlüsselung nach Geschlecht" in result.output


def test_validate_unknown_ags_with_registry(make_workbook, tmp_path):
    registry = tmp_path / "r.csv"
    registry.write_text(REGISTRY.replace("06431901", "06431909"), encoding="utf-8")
    result = _run("validate", "--registry", str(registry), str(make_workbook()))
    assert result.exit_code == 1 and "AGS_UNBEKANNT" in result.output


def test_report_on_an_empty_inbox_points_to_the_demo(tmp_path):
    (tmp_path / "in").mkdir()
    result = _run("report", "--input", str(tmp_path / "in"), "--output", str(tmp_path / "out"))
    assert result.exit_code == 0
    assert "keine Dateien" in result.output and "make demo" in result.output
    assert (tmp_path / "out" / "kennzahlen.csv").exists()


def test_report_missing_inbox_is_a_usage_error(tmp_path):
    result = _run("report", "--input", str(tmp_path / "fehlt"), "--output", str(tmp_path / "o"))
    assert result.exit_code == 2
    assert "existiert nicht" in result.output


def test_report_unreadable_inbox_is_a_usage_error(tmp_path, monkeypatch):
    """Root reads every folder, so the refused permission is simulated where it is asked."""
    import pipeline.report

    inbox = tmp_path / "in"
    inbox.mkdir()
    real = pipeline.report.os.access
    monkeypatch.setattr(pipeline.report.os, "access",
                        lambda p, mode: False if Path(p) == inbox else real(p, mode))
    result = _run("report", "--input", str(inbox), "--output", str(tmp_path / "o"))
    assert result.exit_code == 2
    assert "nicht lesbar" in result.output and str(inbox) in result.output


def test_report_bad_stichtag_is_a_usage_error(tmp_path):
    result = _run("report", "--input", str(tmp_path), "--output", str(tmp_path / "o"),
                  "--stichtag", "15.05.2026")
    assert result.exit_code == 2 and "JJJJ-MM-TT" in result.output


def test_report_with_broken_registry_is_a_configuration_error(tmp_path):
    registry = tmp_path / "r.csv"
    registry.write_text("ags,name\n06431901,Musterstadt\n", encoding="utf-8")
    result = _run("report", "--input", str(tmp_path), "--output", str(tmp_path / "o"),
                  "--registry", str(registry))
    assert result.exit_code == 2 and "landkreis" in result.output


def test_template_writes_one_workbook_per_registry_row(tmp_path):
    registry = tmp_path / "r.csv"
    registry.write_text(REGISTRY, encoding="utf-8")
    result = _run("template", "--registry", str(registry), "--projektjahr", "1",
                  "--quartal", "3", "--out", str(tmp_path / "t"))
    assert result.exit_code == 0 and "3 Arbeitsmappe(n)" in result.output
    names = sorted(p.name for p in (tmp_path / "t").iterdir())
    assert names == ["06431901_PJ1_Q3.xlsx", "06431902_PJ1_Q3.xlsx", "06431903_PJ1_Q3.xlsx"]
    # a prefilled, untouched template is not yet a valid report: the clerk must fill it
    checked = service.validate_files([tmp_path / "t" / names[0]], registry)[0]
    assert checked.readable and checked.submission.ags == "06431901"
    assert {f.regel for f in checked.findings} >= {"PFLICHTFELD", "ERKLAERUNG"}


def test_template_blank_and_bad_quarter(tmp_path):
    assert _run("template", "--blank", "--projektjahr", "1", "--quartal", "1", "--out",
                str(tmp_path)).exit_code == 0
    result = _run("template", "--blank", "--projektjahr", "4", "--quartal", "1", "--out",
                  str(tmp_path))
    assert result.exit_code == 2 and "gibt es nicht" in result.output


def test_every_command_has_german_help_with_an_example():
    for command in ("template", "report", "validate", "demo"):
        result = _run(command, "--help")
        assert result.exit_code == 0 and "Beispiel:" in result.output and "kisi " in result.output


def test_demo_runs_end_to_end(tmp_path: Path):
    result = _run("demo", "--output", str(tmp_path / "demo"))
    assert result.exit_code == 0, result.output
    statuses = (tmp_path / "demo" / "ausgabe" / "eingaenge.csv").read_text(encoding="utf-8")
    for status in ("verwendet", "fehlerhaft", "abgelehnt", "doppelt"):
        assert f",{status}," in statuses


@pytest.mark.parametrize(("args", "code", "shown"), [
    (["--help"], 0, "Usage"),
    (["gibt-es-nicht"], 2, "No such command"),
    (["report", "--input", "/gibt/es/nicht", "--output", "{tmp}/aus"], 2, ""),
])
def test_console_script_keeps_exit_codes_and_output(tmp_path, args, code, shown):
    """`kisi` leaves with os._exit after flushing: the exit code and every line printed
    (also into a pipe) must survive that."""
    argv = [a.replace("{tmp}", str(tmp_path)) for a in args]
    done = subprocess.run([sys.executable, "-c", "from pipeline.cli import entry; entry()",
                           *argv], capture_output=True, text=True, timeout=120)
    assert done.returncode == code
    assert shown in done.stdout + done.stderr


def test_console_script_report_output_reaches_a_pipe(tmp_path):
    box = tmp_path / "eingang"
    box.mkdir()
    done = subprocess.run([sys.executable, "-c", "from pipeline.cli import entry; entry()",
                           "report", "--input", str(box), "--output", str(tmp_path / "aus")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0
    assert "0 Datei(en) in" in done.stdout and (tmp_path / "aus" / "kennzahlen.csv").is_file()


@pytest.mark.parametrize("value", ["2026-05-15", "2026-5-1", "2028-02-29", "2026-02-30",
                                   "26-05-15", "2026-05-15x", " 2026-05-15", "2026-13-01",
                                   "20260515", "2026-005-01", "2026/05/15", ""])
def test_stichtag_is_read_as_strptime_reads_it(value):
    """The Stichtag is parsed without strptime (its first call costs ≈ 13 ms of start-up):
    the same dates, the same refusals (for ASCII input; strptime also reads other digits)."""
    from datetime import datetime

    import click

    from pipeline.cli import _stichtag

    try:
        expected = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        expected = None
    if expected is None:
        with pytest.raises(click.BadParameter, match="kein Datum im Format JJJJ-MM-TT"):
            _stichtag(None, None, value)
    else:
        assert _stichtag(None, None, value) == expected
