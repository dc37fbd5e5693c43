"""The server: load the program once, then fork once per command (`kisi server start`).

The loop accepts one connection at a time (a request is read and forked in well under a
millisecond; the commands then run side by side in their forks, each under the report's own
lock where it writes). It ends after `idle` seconds without a command, on `kisi server
stop`, on SIGTERM, and as soon as the program on disk is no longer the one it loaded (a
new version, an edited spec or template): that command is refused and runs in its own
process instead, and the next `kisi server start` loads the new program.
"""

from __future__ import annotations

import fcntl
import gc
import io
import os
import select
import signal
import socket
import struct
import sys
import time
import traceback
from pathlib import Path

from pipeline.resident import wire

STREAM_MODES = ("r", "w", "w")
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
IGNORABLE = {int(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT,
                               signal.SIGTSTP)}
KEEP_BATCH = 24  # results loaded between two looks for a command (≈ 2 ms)
RESET_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGCHLD)


class Fingerprint:
    """What the loaded program was made of: every file of the package (not its bytecode),
    the HTML templates, the interpreter and the installed libraries (their folders change
    when a package is installed or removed). Taken again before every command (≈ 1 ms)."""

    def __init__(self, roots: list[Path], files: list[Path]) -> None:
        self.roots = roots
        self.files = files
        self.value = self.take()

    @classmethod
    def of_program(cls) -> Fingerprint:
        from pipeline.outputs import TEMPLATE_DIR

        package = Path(__file__).resolve().parents[1]
        libraries = sorted({Path(p) for p in sys.path if p.endswith("site-packages")})
        return cls([package, TEMPLATE_DIR], [Path(sys.executable), *libraries])

    def take(self) -> tuple:
        seen = []
        for path in self.files:
            seen.append((str(path), *_stat(path)))
        for root in self.roots:
            seen += _walk(str(root))
        return tuple(seen)

    def changed(self) -> bool:
        return self.take() != self.value


def _stat(path: Path | str) -> tuple[int, int]:
    try:
        st = os.stat(path)
    except OSError:
        return (-1, -1)
    return (st.st_mtime_ns, st.st_size)


def _walk(folder: str) -> list[tuple]:
    out = []
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return [(folder, -1, -1)]
    for entry in entries:
        if entry.name == "__pycache__":
            continue
        if entry.is_dir(follow_symlinks=False):
            out += _walk(entry.path)
        else:
            st = entry.stat(follow_symlinks=False)
            out.append((entry.path, st.st_mtime_ns, st.st_size))
    return out


def preload() -> None:
    """Import what any command needs and load the specs, then keep it all out of the
    collector's way (a fork then shares these pages instead of copying them)."""
    import pipeline.cli  # noqa: F401
    import pipeline.report as report

    report.import_rendering()
    report.import_openpyxl()
    import codecs
    import concurrent.futures.process  # noqa: F401 - the pool of a run with many new files
    import multiprocessing.context  # noqa: F401

    import pipeline.aggregate  # noqa: F401
    import pipeline.feedback  # noqa: F401
    import pipeline.ledger  # noqa: F401
    import pipeline.outputs.audit  # noqa: F401
    import pipeline.outputs.audit_lineage  # noqa: F401
    import pipeline.outputs.html  # noqa: F401
    import pipeline.outputs.waivers_csv  # noqa: F401
    import pipeline.status  # noqa: F401
    import pipeline.template.builder  # noqa: F401
    from pipeline.checkcache import code_digest
    from pipeline.spec import load_programme, load_template, template_versions

    for name in ("cp437", "utf_16_le", "utf_8_sig"):  # zip member names, CSV and text files
        codecs.lookup(name)
    code_digest()  # (the sources cannot change under it: see Fingerprint)
    load_programme()
    load_template()
    for version in template_versions():
        load_template(version)
    gc.collect()
    gc.freeze()


class Server:
    def __init__(self, base: str, idle: float) -> None:
        self.base = base
        self.path = wire.socket_path(base)
        self.idle = idle
        self.started = time.time()
        self.served = 0
        self.stopping = False
        self.fingerprint: Fingerprint | None = None
        self.listener: socket.socket | None = None
        self.inode = -1
        self.last = time.monotonic()  # the last command taken or ended (the idle timer)
        self.lock: int | None = None  # the lock file held while serving (not by the forks)
        # Each fork names the cache folder its report used; the server then loads those
        # results ahead for the next command (`checkcache.Keeping`).
        self.notes, self.notes_to_server = os.pipe()
        # The commands running, by pid: the connection to their `kisi`, which gets their
        # exit status from here (the command's own processes never hold the connection,
        # so a pool worker it leaves behind cannot keep its `kisi` waiting).
        self.running: dict[int, socket.socket] = {}
        self.wakeup, self.wakeup_to_server = os.pipe()  # SIGCHLD wakes the select
        self.to_keep: str | None = None  # a cache folder to load once no command runs
        self.keeping = None  # checkcache.Keeping while that folder is being loaded

    def bind(self) -> None:
        """Listen on the socket path (bound under a temporary name, then renamed: a stale
        socket of a crashed server is replaced in one step)."""
        tmp = f"{self.path}.{os.getpid()}"
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        listener.bind(tmp)
        os.chmod(tmp, 0o600)
        listener.listen(16)
        os.replace(tmp, self.path)
        self.inode = os.stat(self.path).st_ino
        self.listener = listener

    def serve(self) -> None:
        assert self.listener is not None
        self.last = time.monotonic()
        self.listener.setblocking(False)  # select says when; a vanished command: skip
        while not self.stopping:
            loading = self.keeping is not None and not self.running
            watched = [self.listener, self.notes, self.wakeup, *self.running.values()]
            try:
                ready, _, _ = select.select(watched, [], [],
                                            0 if loading else min(self.idle, 30.0))
                self.reap()
                self.hang_up([c for c in ready if c in self.running.values()])
            except _Stopped:
                break
            if not ready and loading:
                try:  # a few results at a time: a command that comes meanwhile waits little
                    if not self.keeping.step(KEEP_BATCH):  # type: ignore[union-attr]
                        self.keeping = None
                        gc.freeze()
                except _Stopped:
                    break
                except Exception:  # noqa: BLE001 - only the head start is lost
                    self.keeping = None
                    _log("Fehler beim Vorladen der Prüfergebnisse:\n" + traceback.format_exc())
                continue
            if not ready:
                if self.stale():
                    break
                if not self.running and time.monotonic() - self.last >= self.idle:
                    _log("Hintergrunddienst endet: keine Befehle seit "
                         f"{self.idle / 60:.0f} Minuten.")
                    break
                continue
            if self.to_keep is not None and not self.running:
                self.keep_results()  # (loaded a few at a time above, between looks)
            if self.listener not in ready:
                continue
            try:
                conn, _ = self.listener.accept()
            except _Stopped:
                break
            except OSError:  # the command gave up meanwhile
                continue
            self.last = time.monotonic()
            kept = False
            try:
                kept = self.handle(conn)
            except _Stopped:
                break
            except Exception:  # noqa: BLE001 - one bad request must not end the server
                _log("Fehler bei einer Anfrage:\n" + traceback.format_exc())
            finally:
                if not kept:
                    conn.close()
        self.close()
        self.finish_running()

    def reap(self) -> None:
        """Tell each `kisi` whose command ended how it ended (its "done" note first: it was
        written before the process ended, so it is in the pipe by now)."""
        try:
            os.read(self.wakeup, 4096)
        except BlockingIOError:
            pass
        if select.select([self.notes], [], [], 0)[0]:
            self.read_notes()
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self._ended(pid, status)

    def hang_up(self, closed: list[socket.socket]) -> None:
        """A running command whose `kisi` is gone (its connection readable: closed; a `kisi`
        sends nothing while it waits) is hung up on, as a terminal's job is when the
        terminal goes: SIGHUP, then SIGCONT in case it was stopped (Ctrl-Z)."""
        for pid, conn in list(self.running.items()):
            if conn in closed:
                for sig in (signal.SIGHUP, signal.SIGCONT):
                    try:
                        os.killpg(pid, sig)
                    except OSError:
                        pass
                self.running.pop(pid, None)
                conn.close()

    def finish_running(self) -> None:
        """Stopping: no new commands; those running are waited for and answered (a stopped
        one is continued first)."""
        for pid in list(self.running):
            try:
                os.killpg(pid, signal.SIGCONT)
            except OSError:
                pass
            while True:
                try:
                    _pid, status = os.waitpid(pid, 0)
                    break
                except InterruptedError:  # pragma: no cover - PEP 475 retries
                    continue
                except _Stopped:
                    continue  # a second SIGTERM: still answer the commands
                except ChildProcessError:
                    status = None
                    break
            self._ended(pid, status)

    def _ended(self, pid: int, status: int | None) -> None:
        code = os.waitstatus_to_exitcode(status) if status is not None else 1
        self._answer(pid, {"signal": -code} if code < 0 else {"code": code})

    def _answer(self, pid: int, answer: dict) -> None:
        conn = self.running.pop(pid, None)
        if conn is None:
            return  # answered already (its "done" note)
        self.last = time.monotonic()  # idle from the end of the last command
        try:
            wire.send(conn, answer)
        except OSError:
            pass  # the command's kisi is gone
        conn.close()

    def read_notes(self) -> None:
        """What the commands' processes tell: "done PID CODE" just before one ends (its
        kisi is answered at once, not after the process is torn down), "keep FOLDER" for
        the cache folder its report used."""
        for line in os.read(self.notes, 65536).decode(errors="replace").splitlines():
            kind, _, rest = line.partition(" ")
            if kind == "keep" and rest:
                self.to_keep = rest
            elif kind == "done":
                pid, _, code = rest.partition(" ")
                if pid.isdigit() and code.lstrip("-").isdigit():
                    self._answer(int(pid), {"code": int(code)})

    def keep_results(self) -> None:
        """Start loading the results of the cache folder the last report used."""
        from pipeline import checkcache

        folder, self.to_keep = self.to_keep, None
        if folder:
            self.keeping = checkcache.Keeping(folder)

    def close(self) -> None:
        if self.listener is None:
            return
        try:  # only our own socket: a newer server may have replaced it
            if os.stat(self.path).st_ino == self.inode:
                os.unlink(self.path)
        except OSError:
            pass
        self.listener.close()
        self.listener = None

    def handle(self, conn: socket.socket) -> bool:
        """One request; True if `conn` now belongs to a running command."""
        conn.settimeout(10.0)
        creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        _pid, uid, _gid = struct.unpack("3i", creds)
        if uid != os.getuid():
            return False
        message, fds = wire.receive(conn, max_fds=3)
        try:
            if message is None:  # (a newer program may speak otherwise)
                self.stale()
                return False
            op = message.get("op")
            if op == "status":
                wire.send(conn, self.status())
            elif op == "stop":
                self.stopping = True
                wire.send(conn, {"stopping": os.getpid()})
                _log("Hintergrunddienst beendet (kisi server stop).")
            elif op == "run":
                refusal = self.refusal(message, fds)
                if refusal:
                    wire.send(conn, {"refused": refusal})
                    return False
                # The command's kisi says "go" once it is ready to forward signals; if it
                # gave up meanwhile (its timeout), nothing runs: never twice.
                wire.send(conn, {"ready": True})
                go, _ = wire.receive(conn)
                if not go or go.get("go") is not True:
                    return False
                self.fork(conn, message, fds)
                return True
            return False
        finally:
            wire.close_all(fds)

    def status(self) -> dict:
        from pipeline import checkcache

        return {"pid": os.getpid(), "since": self.started, "served": self.served,
                "identity": wire.identity(), "idle": self.idle,
                "kept": len(checkcache.KEPT)}

    def refusal(self, message: dict, fds: list[int]) -> str | None:
        if message.get("protocol") != wire.PROTOCOL or message.get("identity") != wire.identity():
            return "anderes Programm"
        args = message.get("args")
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args) \
                or len(fds) != 3 or not isinstance(message.get("env"), dict) \
                or not isinstance(message.get("cwd"), str):
            return "unvollständige Anfrage"
        if self.stale():
            return "Programm geändert"
        return None

    def stale(self) -> bool:
        """Whether the program on disk changed since it was loaded (then: stop)."""
        if self.fingerprint is not None and self.fingerprint.changed():
            self.stopping = True
            _log("Hintergrunddienst endet: das Programm auf der Platte hat sich geändert.")
            return True
        return False

    def fork(self, conn: socket.socket, message: dict, fds: list[int]) -> None:
        """Run the command in a fork, in a process group of its own (the command's kisi
        forwards Ctrl-C and the like to the group, as a terminal does to its foreground
        job: pool workers included)."""
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.setpgid(0, 0)
                conn.close()
                for other in self.running.values():  # the other commands' kisi
                    other.close()
                self.listener.close()  # type: ignore[union-attr]
                for fd in (self.lock, self.notes, self.wakeup, self.wakeup_to_server):
                    if fd is not None:
                        os.close(fd)
                code = run_forked(message, fds, self.notes_to_server)
            finally:
                os._exit(code)
        try:
            os.setpgid(pid, pid)  # (both sides, as shells do: the group exists either way)
        except OSError:
            pass  # it has already set it, or already ended
        self.running[pid] = conn
        self.served += 1
        conn.settimeout(None)
        try:
            wire.send(conn, {"pid": pid})
        except OSError:
            pass  # its kisi is gone; the command still runs to its end, like a nohup


def run_forked(message: dict, fds: list[int], notes: int) -> int:
    """In the fork: become the command (its streams, folder, environment, umask) and run
    it; its exit code."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for sig in RESET_SIGNALS:
        signal.signal(sig, signal.SIG_DFL)
    for sig in message.get("ignored") or []:  # as the command's kisi had them (nohup)
        if sig in IGNORABLE:
            signal.signal(sig, signal.SIG_IGN)
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    wire.close_all([fd for fd in fds if fd > 2])
    os.chdir(message["cwd"])
    os.environ.clear()
    os.environ.update({str(k): str(v) for k, v in message["env"].items()})
    time.tzset()
    os.umask(int(message.get("umask", 0o022)))
    _adopt_streams(message.get("streams") or [])
    code = command(message["args"])
    _note(notes, code)
    return code


def _note(notes: int, code: int) -> None:
    """Tell the server the cache folder the report used and that the command is done
    (each line one atomic write to the pipe)."""
    from pipeline import checkcache

    lines = [f"keep {checkcache.USED[-1]}\n"] if checkcache.USED else []
    lines.append(f"done {os.getpid()} {code}\n")
    for line in lines:
        data = line.encode()
        if len(data) <= select.PIPE_BUF:
            try:
                os.write(notes, data)
            except OSError:
                pass


def _adopt_streams(encodings: list) -> None:
    streams = []
    for fd, mode in enumerate(STREAM_MODES):
        encoding, errors = (encodings[fd] if fd < len(encodings) and encodings[fd]
                            else (None, None))
        raw = io.FileIO(fd, mode, closefd=False)
        buffered = io.BufferedReader(raw) if mode == "r" else io.BufferedWriter(raw)
        line = mode == "w" and (fd == 2 or os.isatty(fd))
        streams.append(io.TextIOWrapper(buffered, encoding=encoding or "utf-8",
                                        errors=errors or "strict", line_buffering=line))
    sys.stdin, sys.stdout, sys.stderr = streams
    sys.__stdin__, sys.__stdout__, sys.__stderr__ = streams


def command(args: list[str]) -> int:
    """`kisi ARGS` as the console script runs it (`pipeline.cli.entry`): its exit code."""
    from pipeline.cli import main

    sys.argv = ["kisi", *args]
    try:
        main(args=args, prog_name="kisi")
    except SystemExit as done:
        code = done.code
    except BaseException:  # noqa: BLE001 - as Python itself would report it
        traceback.print_exc()
        code = 1
    else:  # pragma: no cover - click always exits
        code = 0
    if isinstance(code, str):
        print(code, file=sys.stderr)
        code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    return code if isinstance(code, int) else (0 if code is None else 1)


def _log(text: str) -> None:
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {text}", file=sys.stderr, flush=True)


# --- the commands `kisi server start|stop|status` -------------------------------------

class ServerError(Exception):
    """A German message for the user."""


def _private_folder() -> str:
    base = wire.folder(create=True)
    if base is None:
        raise ServerError("Kein privater Ordner für den Hintergrunddienst: der Ordner muss "
                          "Ihnen gehören und für andere gesperrt sein (Rechte 700). "
                          "KISI_SERVER_DIR kann einen anderen Ordner nennen.")
    return base


def ask(op: str) -> dict | None:
    """The server's answer to `op` ("status", "stop"), None if none is running."""
    sock = wire.connect_to_server()
    if sock is None:
        return None
    try:
        sock.settimeout(10.0)
        wire.send(sock, {"op": op})
        reply, _ = wire.receive(sock)
        return reply
    except OSError:
        return None
    finally:
        sock.close()


def stop(wait: float = 10.0) -> bool:
    """Stop the running server and wait until it has let go of its socket; False if none
    was running."""
    reply = ask("stop")
    if not reply:
        return False
    base = wire.folder()
    deadline = time.monotonic() + wait
    while base is not None and time.monotonic() < deadline:
        try:
            lock = os.open(wire.socket_path(base) + ".lock", os.O_RDWR)
        except OSError:
            break
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break  # the server has let go
        except OSError:
            time.sleep(0.02)
        finally:
            os.close(lock)
    return True


def start(idle_minutes: float, foreground: bool = False) -> int:
    """Start the server (detached unless `foreground`); its pid once it listens."""
    base = _private_folder()
    running = ask("status")
    if running is not None:
        return int(running["pid"])
    idle = max(1.0, idle_minutes * 60)
    if foreground:
        _serve(base, idle, ready=None)
        return os.getpid()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the detached server (its tests talk to it)
        os.close(read)
        try:
            os.setsid()
            if os.fork() == 0:
                _detach(base)
                _serve(base, idle, ready=write)
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read, "rb") as pipe:
        answer = pipe.read()
    if not answer.startswith(b"ok "):
        raise ServerError("Der Hintergrunddienst ist nicht gestartet"
                          + (f": {answer.decode(errors='replace')}" if answer else "")
                          + f" (Protokoll: {log_path(base)}).")
    return int(answer.split()[1])


def log_path(base: str) -> str:
    return wire.socket_path(base)[:-len(".sock")] + ".log"


def _detach(base: str) -> None:  # pragma: no cover - runs in the detached server
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    log = os.open(log_path(base), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8",
                                  line_buffering=True)
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8",
                                  line_buffering=True)
    os.chdir("/")


def _serve(base: str, idle: float, ready: int | None) -> None:
    lock = os.open(wire.socket_path(base) + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(lock)
        _tell(ready, "ein anderer Hintergrunddienst startet oder endet gerade")
        if ready is None:
            raise ServerError("Ein anderer Hintergrunddienst startet oder endet gerade.") \
                from None
        return
    server = Server(base, idle)
    server.lock = lock
    try:
        server.fingerprint = Fingerprint.of_program()  # before: an edit meanwhile counts
        preload()
        for sig in STOP_SIGNALS:
            signal.signal(sig, lambda *_: _stop(server))
        os.set_blocking(server.wakeup, False)
        os.set_blocking(server.wakeup_to_server, False)
        signal.set_wakeup_fd(server.wakeup_to_server)
        signal.signal(signal.SIGCHLD, lambda *_: None)  # (wakes the select: see reap)
        server.bind()
    except BaseException as err:
        _tell(ready, f"{type(err).__name__}: {err}")
        raise
    _log(f"Hintergrunddienst läuft (PID {os.getpid()}).")
    _tell(ready, f"ok {os.getpid()}")
    try:
        server.serve()
    finally:
        server.close()
        os.close(lock)


class _Stopped(BaseException):
    """SIGTERM, SIGHUP or Ctrl-C reached the server."""


def _stop(server: Server) -> None:
    server.stopping = True
    raise _Stopped


def _tell(fd: int | None, text: str) -> None:
    if fd is not None:
        try:
            os.write(fd, text.encode())
            os.close(fd)
        except OSError:
            pass
