"""The command's side: hand the command to a running server, or say there is none.

Imported by every `kisi` start, before anything else of the program: only the standard
library's cheapest modules (≈ 2 ms)."""

from __future__ import annotations

import os
import signal
import struct
import sys

from pipeline.resident import wire

# Forwarded to the command's process group, as a terminal signals its foreground job.
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGTSTP,
             signal.SIGCONT)
OWN_COMMANDS = ("server",)  # run here, never by a server
ANSWER_SECONDS = 30.0  # for the server to take the command (it forks in milliseconds)


def delegate(args: list[str]) -> int | None:
    """Run `kisi ARGS` in the server; its exit code, or None to run it here (no server,
    `KISI_SERVER=0`, the server refused, or a standard stream is closed)."""
    if os.environ.get("KISI_SERVER") == "0" or (args and args[0] in OWN_COMMANDS):
        return None
    sock = wire.connect_to_server()
    if sock is None:
        return None
    try:
        return _run(sock, args)
    finally:
        sock.close()


def _run(sock, args: list[str]) -> int | None:
    try:  # the server is this user's (besides the folder's check: SO_PEERCRED)
        creds = sock.getsockopt(wire.SOL_SOCKET, wire.SO_PEERCRED, struct.calcsize("3i"))
        if struct.unpack("3i", creds)[1] != os.getuid():
            return None
        cwd = os.getcwd()  # (a folder removed meanwhile: run here, and fail as usual)
    except OSError:
        return None
    streams = []
    for fd, stream in ((0, sys.stdin), (1, sys.stdout), (2, sys.stderr)):
        try:
            os.fstat(fd)
        except OSError:
            return None  # a closed stream: the server could not stand in for it
        streams.append([getattr(stream, "encoding", None), getattr(stream, "errors", None)])
    umask = os.umask(0o022)
    os.umask(umask)
    # What this process ignores (`nohup`, a background job's Ctrl-C) the command ignores
    # too, and it is not forwarded.
    ignored = [int(sig) for sig in FORWARDED if signal.getsignal(sig) == signal.SIG_IGN]
    request = {"op": "run", "protocol": wire.PROTOCOL, "identity": wire.identity(),
               "args": args, "cwd": cwd, "env": dict(os.environ), "umask": umask,
               "streams": streams, "ignored": ignored}
    try:
        sock.settimeout(ANSWER_SECONDS)  # a server that hangs: run here instead
        wire.send(sock, request, fds=[0, 1, 2])
        reply, _ = wire.receive(sock)
    except OSError:
        return None
    if reply is None or reply.get("ready") is not True:
        return None  # refused (another program version, busy ending): run here
    # From "go" on the command is the server's to run: signals wait until its pid is known.
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, FORWARDED)
    group: list[int] = []
    previous = {sig: signal.signal(sig, lambda sig, _frame: _forward(group, sig))
                for sig in FORWARDED if int(sig) not in ignored}
    try:
        sock.settimeout(None)  # the command itself may take hours
        try:
            wire.send(sock, {"go": True})
            started, _ = wire.receive(sock)
        except OSError:
            started = None
        if started is None or not isinstance(started.get("pid"), int):
            return _lost()
        group.append(started["pid"])
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)  # pending ones: forwarded now
        while True:
            try:
                done, _ = wire.receive(sock)
            except InterruptedError:  # pragma: no cover - PEP 475 retries
                continue
            except OSError:
                done = None
            break
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if done is not None and isinstance(done.get("signal"), int):
        return _die_of(done["signal"])
    if done is None or not isinstance(done.get("code"), int):
        return _lost()
    return done["code"]


def _forward(group: list[int], sig: int) -> None:
    """Ctrl-C and friends reach the command and its workers where they run; Ctrl-Z stops
    them, and this process with them (the shell's `fg` continues both)."""
    if group:
        try:
            os.killpg(group[0], sig)
        except OSError:
            pass
    if sig == signal.SIGTSTP:
        os.kill(os.getpid(), signal.SIGSTOP)


def _die_of(sig: int) -> int:
    """The command was ended by a signal: end the same way (a shell, `timeout` or CI see
    what they would have seen)."""
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
    except (OSError, ValueError):
        pass
    return 128 + sig


def _lost() -> int:
    print("kisi: Der Hintergrunddienst hat den Befehl nicht zu Ende geführt (siehe "
          f"{wire.folder() or 'seinen Ordner'}, Protokoll des Dienstes). Bitte erneut "
          "ausführen; „KISI_SERVER=0 kisi …“ umgeht den Dienst.", file=sys.stderr)
    return 1
