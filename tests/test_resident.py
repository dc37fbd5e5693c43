"""The resident server (`kisi server`): a command it runs must be indistinguishable from the
same command run on its own: the same files, bytes, output, exit code; and it must never
serve a program other than the one on disk, nor anybody but its own user."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline import checkcache
from pipeline.resident import client, wire
from pipeline.resident.server import Fingerprint, Server
from pipeline.validate import Checked
from tests.test_report import inbox  # noqa: F401 - the fixture

KISI = str(Path(sys.executable).with_name("kisi"))
STICHTAG = "2026-05-15"


@pytest.fixture
def server_dir(tmp_path: Path):
    """A private folder for this test's server; the server is stopped afterwards."""
    folder = tmp_path / "srv"
    folder.mkdir(mode=0o700)
    env = {**os.environ, "KISI_SERVER_DIR": str(folder)}
    env.pop("KISI_SERVER", None)
    yield folder, env
    subprocess.run([KISI, "server", "stop"], env=env, capture_output=True, timeout=60)


def _kisi(args: list[str], env: dict, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([KISI, *args], env=env, capture_output=True, text=True,
                          timeout=300, **kw)


def _start(env: dict) -> int:
    done = _kisi(["server", "start", "--leerlauf", "5"], env)
    assert done.returncode == 0, done.stderr
    assert "Hintergrunddienst läuft" in done.stdout
    return _served(env)


def _served(env: dict) -> int:
    done = _kisi(["server", "status"], env)
    assert "Hintergrunddienst läuft" in done.stdout, done.stdout + done.stderr
    return int(done.stdout.split(", ")[1].split()[0])


def _report_files(folder: Path) -> dict[str, bytes]:
    """Every file a report writes (not the store: its ledger records times; nor the lock,
    which holds a process id)."""
    store = folder / "eingangsarchiv"
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and store not in p.parents and not p.name.startswith(".")}


def test_a_report_run_by_the_server_is_the_report_run_alone(inbox, tmp_path,  # noqa: F811
                                                            server_dir):
    box, registry = inbox
    _folder, env = server_dir
    args = ["report", "--input", str(box), "--registry", str(registry), "--stichtag", STICHTAG]
    alone = _kisi([*args, "--output", str(tmp_path / "aus_allein")],
                  {**env, "KISI_SERVER": "0"})
    before = _start(env)
    served = _kisi([*args, "--output", str(tmp_path / "aus_dienst")], env)
    assert _served(env) == before + 1  # the server ran it
    assert served.returncode == alone.returncode == 0
    assert served.stdout.split(" in ")[0] == alone.stdout.split(" in ")[0]
    assert served.stdout.split("s ausgewertet")[1].replace("dienst", "allein") == \
        alone.stdout.split("s ausgewertet")[1]
    files = _report_files(tmp_path / "aus_allein")
    assert "bericht_ministerium.xlsx" in files and len(files) > 8
    assert _report_files(tmp_path / "aus_dienst") == files
    # warm, through the server: the results it kept loaded give the same bytes again
    again = _kisi([*args, "--output", str(tmp_path / "aus_dienst")], env)
    assert again.returncode == 0 and _report_files(tmp_path / "aus_dienst") == files
    status = _kisi(["server", "status"], env).stdout
    assert "Prüfergebnisse vorgeladen" in status and not status.endswith(" 0 Prüfergebnisse")


def test_relative_paths_umask_and_exit_codes_are_the_commands(make_workbook, tmp_path,
                                                              server_dir):
    _folder, env = server_dir
    bad = make_workbook(values={"TN_WEIBLICH": 40})
    work = tmp_path / "arbeit"
    work.mkdir()
    (work / "in").mkdir()
    alone = _kisi(["validate", str(bad)], {**env, "KISI_SERVER": "0"})
    before = _start(env)
    served = _kisi(["validate", str(bad)], env)
    assert served.returncode == alone.returncode == 1
    assert served.stdout == alone.stdout and "SUMME" in served.stdout
    usage = _kisi(["report", "--input", "fehlt", "--output", "aus"], env, cwd=work)
    assert usage.returncode == 2 and "„fehlt“ existiert nicht" in usage.stderr
    # relative folders are the command's, and so is its umask
    done = subprocess.run(f"umask 027 && exec {KISI} report --input in --output aus",
                          shell=True, env=env, cwd=work, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Ergebnisse in aus" in done.stdout
    assert (work / "aus" / "kennzahlen.csv").is_file()
    assert (work / "aus").stat().st_mode & 0o777 == 0o750  # a folder made under umask 027
    assert _served(env) == before + 3


def test_ctrl_c_reaches_the_command_in_the_server(tmp_path, server_dir):
    _folder, env = server_dir
    _start(env)
    demo = subprocess.Popen([KISI, "demo", "--output", str(tmp_path / "demo")], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)  # the demo takes seconds: it is still making its workbooks
    demo.send_signal(signal.SIGINT)
    out, err = demo.communicate(timeout=60)
    assert demo.returncode == 1 and "Aborted" in err  # as click reports Ctrl-C alone
    assert "Demo:" not in out


def test_no_server_or_a_foreign_folder_means_the_command_runs_alone(tmp_path, monkeypatch):
    open_folder = tmp_path / "offen"
    open_folder.mkdir(mode=0o755)
    os.chmod(open_folder, 0o755)
    monkeypatch.setenv("KISI_SERVER_DIR", str(open_folder))
    assert wire.folder() is None  # others may write there: not used
    assert client.delegate(["--version"]) is None
    done = _kisi(["server", "start"], {**os.environ})
    assert done.returncode == 2 and "Rechte 700" in done.stderr
    private = tmp_path / "privat"
    private.mkdir(mode=0o700)
    monkeypatch.setenv("KISI_SERVER_DIR", str(private))
    assert wire.folder() == str(private) and client.delegate(["--version"]) is None


def test_another_program_is_refused_and_a_changed_one_stops_the_server(tmp_path):
    server = Server(str(tmp_path), idle=60)
    spec = tmp_path / "spec.toml"
    spec.write_text("a = 1\n", encoding="utf-8")
    server.fingerprint = Fingerprint([tmp_path], [])
    request = {"op": "run", "protocol": wire.PROTOCOL, "identity": wire.identity(),
               "args": ["--version"], "cwd": "/", "env": {}, "umask": 0o22}
    assert server.refusal(request, [0, 1, 2]) is None
    assert server.refusal({**request, "identity": "anderes"}, [0, 1, 2]) == \
        "anderes Programm"
    assert server.refusal(request, [0, 1]) == "unvollständige Anfrage"
    spec.write_text("a = 22\n", encoding="utf-8")  # edited: size and mtime change
    assert server.refusal(request, [0, 1, 2]) == "Programm geändert"
    assert server.stopping


def test_kept_results_are_used_only_while_their_file_is_unchanged(tmp_path):
    folder = tmp_path / "cache"
    folder.mkdir()
    first = Checked("a.xlsx", "1" * 64, readable=True)
    path = folder / f"{'1' * 64}.pickle"
    path.write_bytes(checkcache.dump(first))
    (folder / "projekt-x.pickle").write_bytes(pickle.dumps([]))
    try:
        assert checkcache.Keeping(str(folder)).step(10) is False
        assert len(checkcache.KEPT) == 1  # the result, not the projekt- findings
        cache = checkcache.CheckCache.__new__(checkcache.CheckCache)
        cache.dir = folder
        kept = cache.get("1" * 64, "a.xlsx")
        assert kept is checkcache.KEPT[str(path)][1]  # not read again
        # the same attachment again (e.g. twice in one e-mail): an object of its own, as
        # if read from the file; the report changes what it is given
        again = cache.get("1" * 64, "a.xlsx")
        assert again is not kept and again == kept and again.findings is not kept.findings
        assert cache.get("1" * 64, "b.xlsx").datei == "b.xlsx"  # relocated, a copy
        time.sleep(0.01)
        path.write_bytes(checkcache.dump(Checked("a.xlsx", "1" * 64, readable=False)))
        assert cache.get("1" * 64, "a.xlsx").readable is False  # the file, not the memory
        path.unlink()
        assert cache.get("1" * 64, "a.xlsx") is None
    finally:
        checkcache.KEPT.clear()


def test_a_refusing_server_leaves_the_command_to_run_alone(tmp_path, monkeypatch):
    """E.g. a server of another program version that has not noticed yet."""
    import socket
    import threading

    private = tmp_path / "privat"
    private.mkdir(mode=0o700)
    monkeypatch.setenv("KISI_SERVER_DIR", str(private))
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(wire.socket_path(str(private)))
    listener.listen(1)
    asked = []

    def refuse() -> None:
        conn, _ = listener.accept()
        message, fds = wire.receive(conn, max_fds=3)
        asked.append((message, len(fds)))
        wire.close_all(fds)
        wire.send(conn, {"refused": "Programm geändert"})
        conn.close()

    thread = threading.Thread(target=refuse)
    thread.start()
    try:
        assert client.delegate(["report", "--input", "x", "--output", "y"]) is None
    finally:
        thread.join(10)
        listener.close()
    message, n_fds = asked[0]
    assert message["args"] == ["report", "--input", "x", "--output", "y"] and n_fds == 3
    assert message["cwd"] == os.getcwd() and message["env"]["KISI_SERVER_DIR"] == str(private)


def test_the_same_attachment_twice_with_a_waiver_as_on_its_own(make_workbook, tmp_path,
                                                               server_dir):
    """A warm run through the server hands out kept results: the same attachment twice in
    one e-mail must not share one result (a cross-quarter finding counted twice, a waiver
    applied to a list changed under it: review of session 6)."""
    from decimal import Decimal

    from pipeline.template.sample import valid_data
    from tests.test_intake import XLSX, _mail
    from tests.test_report import MUSTERSTADT, REGISTRY

    _folder, env = server_dir
    staff = [dict(r) for r in valid_data(MUSTERSTADT).rows["tblPersonal"]]
    staff[0]["Arbeitgeberbrutto"] = Decimal("6500.00")  # a warning: PERSONAL_MONAT_HOCH
    data = make_workbook(rows={"tblPersonal": staff}).read_bytes()
    box = tmp_path / "eingang"
    box.mkdir()
    (box / "b.eml").write_bytes(_mail([("a.xlsx", data, XLSX), ("a.xlsx", data, XLSX)]))
    registry = tmp_path / "r.csv"
    registry.write_text(REGISTRY, encoding="utf-8")
    args = ["report", "--input", str(box), "--registry", str(registry), "--stichtag", STICHTAG]
    alone_env = {**env, "KISI_SERVER": "0"}
    assert _kisi([*args, "--output", str(tmp_path / "aus_allein")], alone_env).returncode == 0
    with (tmp_path / "aus_allein" / "befunde.csv").open(encoding="utf-8") as fh:
        warning = next(line for line in fh if "PERSONAL_MONAT_HOCH" in line)
    sha = next(part for part in warning.split(",") if len(part) == 64)
    (box / "ausnahmen.csv").write_text(
        "sha256;regel;begruendung;von\n"
        f"{sha[:12]};PERSONAL_MONAT_HOCH;Nachzahlung;A. Analyst\n", encoding="utf-8")
    _start(env)
    for _run in ("cold", "warm"):  # both through the server
        first = _kisi([*args, "--output", str(tmp_path / "aus_dienst")], env)
        assert first.returncode == 0, first.stderr
    alone = _kisi([*args, "--output", str(tmp_path / "aus_allein")], alone_env)
    assert alone.returncode == 0
    files = _report_files(tmp_path / "aus_allein")
    assert _report_files(tmp_path / "aus_dienst") == files
    assert "Nachzahlung" in files["ausnahmen_angewendet.csv"].decode()


def test_sigterm_ends_the_command_its_workers_and_its_kisi(tmp_path, server_dir):
    """`kill` of the command's kisi while its report checks files on a pool: the command,
    its workers and the kisi all end, as the signal does on its own; the output folder's
    lock is free again (review of session 6: orphaned workers held the connection)."""
    _folder, env = server_dir
    _start(env)
    demo = subprocess.Popen([KISI, "demo", "--output", str(tmp_path / "demo")], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    store = tmp_path / "demo" / "ausgabe" / "eingangsarchiv"
    deadline = time.monotonic() + 120
    while not store.exists() and demo.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)  # the workbooks are made; the report starts
    time.sleep(0.3)  # checking on the pool
    assert demo.poll() is None, "the demo ended before it could be interrupted"
    demo.send_signal(signal.SIGTERM)
    demo.communicate(timeout=60)
    assert demo.returncode == -signal.SIGTERM
    # nothing of it is left to hold the output folder: a report there runs at once
    again = _kisi(["report", "--input", str(tmp_path / "demo" / "eingang"), "--output",
                   str(tmp_path / "demo" / "ausgabe"), "--stichtag", "2027-02-15"], env)
    assert again.returncode == 0, again.stderr


def test_results_kept_in_part_are_used_and_the_rest_is_read(tmp_path):
    """The server loads the kept results a few at a time; a command that comes meanwhile
    finds some in memory and reads the others from their files."""
    folder = tmp_path / "cache"
    folder.mkdir()
    for digit in "12":
        (folder / f"{digit * 64}.pickle").write_bytes(
            checkcache.dump(Checked(f"{digit}.xlsx", digit * 64, readable=True)))
    try:
        keeping = checkcache.Keeping(str(folder))
        assert keeping.step(1) is True and len(checkcache.KEPT) == 1
        cache = checkcache.CheckCache.__new__(checkcache.CheckCache)
        cache.dir = folder
        got = {d: cache.get(d * 64, f"{d}.xlsx") for d in "12"}
        assert {d: c.datei for d, c in got.items()} == {"1": "1.xlsx", "2": "2.xlsx"}
        kept_path = next(iter(checkcache.KEPT))
        assert sum(c is checkcache.KEPT[kept_path][1] for c in got.values()) == 1
        assert keeping.step(1) is False and len(checkcache.KEPT) == 2
    finally:
        checkcache.KEPT.clear()


def _demo_when_reporting(tmp_path: Path, env: dict, **popen) -> subprocess.Popen:
    """`kisi demo` through the server, returned once its report has started."""
    demo = subprocess.Popen([KISI, "demo", "--output", str(tmp_path / "demo")], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            **popen)
    store = tmp_path / "demo" / "ausgabe" / "eingangsarchiv"
    deadline = time.monotonic() + 120
    while not store.exists() and demo.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert demo.poll() is None, "the demo ended before its report could be reached"
    return demo


def test_a_signal_the_kisi_ignores_is_ignored_by_the_command(tmp_path, server_dir):
    """`nohup kisi …`: a hangup neither ends the kisi nor the command in the server
    (second review of session 6)."""
    _folder, env = server_dir
    _start(env)
    demo = _demo_when_reporting(
        tmp_path, env, preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    demo.send_signal(signal.SIGHUP)
    out, err = demo.communicate(timeout=120)
    assert demo.returncode == 0, err
    assert "Demo: 191 Dateien" in out


def test_a_stopped_command_whose_kisi_is_killed_is_hung_up(tmp_path, server_dir):
    """Ctrl-Z, then the kisi is killed: the command (stopped, in the server) gets SIGHUP and
    SIGCONT, as a terminal's stopped job does, and leaves the output folder free."""
    _folder, env = server_dir
    _start(env)
    demo = _demo_when_reporting(tmp_path, env)
    demo.send_signal(signal.SIGTSTP)
    time.sleep(0.3)
    demo.kill()
    demo.communicate(timeout=30)
    deadline = time.monotonic() + 60
    while True:  # the command and its workers end; then a report there runs
        again = _kisi(["report", "--input", str(tmp_path / "demo" / "eingang"), "--output",
                       str(tmp_path / "demo" / "ausgabe"), "--stichtag", "2027-02-15"], env)
        if again.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert again.returncode == 0, again.stderr
    assert "Hintergrunddienst läuft" in _kisi(["server", "status"], env).stdout
