"""The command's side: hand the command to a running server, or say there is none.

Imported by every `kisi` start, before anything else of the program: only the standard
library's cheapest modules (≈ 2 ms)."""

from __future__ import annotations

import os
import signal
import sys

from pipeline.resident import wire

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
OWN_COMMANDS = ("server",)  # run here, never by a server
ANSWER_SECONDS = 30.0  # for the server to take the command (it forks in milliseconds)


def delegate(args: list[str]) -> int | None:
    """Run `kisi ARGS` in the server; its exit code, or None to run it here (no server,
    `KISI_SERVER=0`, the server refused, or a standard stream is closed)."""
    if os.environ.get("KISI_SERVER") == "0" or (args and args[0] in OWN_COMMANDS):
        return None
    base = wire.folder()
    if base is None:
        return None
    sock = wire.connect(wire.socket_path(base))
    if sock is None:
        return None
    try:
        return _run(sock, args)
    finally:
        sock.close()


def _run(sock, args: list[str]) -> int | None:
    streams = []
    for fd, stream in ((0, sys.stdin), (1, sys.stdout), (2, sys.stderr)):
        try:
            os.fstat(fd)
        except OSError:
            return None  # a closed stream: the server could not stand in for it
        streams.append([getattr(stream, "encoding", None), getattr(stream, "errors", None)])
    umask = os.umask(0o022)
    os.umask(umask)
    request = {"op": "run", "protocol": wire.PROTOCOL, "identity": wire.identity(), "args": args,
               "cwd": os.getcwd(), "env": dict(os.environ), "umask": umask,
               "streams": streams}
    try:
        sock.settimeout(ANSWER_SECONDS)  # a server that hangs: run here instead
        wire.send(sock, request, fds=[0, 1, 2])
        reply, _ = wire.receive(sock)
        sock.settimeout(None)  # the command itself may take hours
    except OSError:  # (a fork that cannot tell us its pid does not run the command)
        return None
    if reply is None or not isinstance(reply.get("pid"), int):
        return None  # refused (another program version, busy ending): run here
    pid = reply["pid"]
    previous = {sig: signal.signal(sig, lambda sig, _frame: _forward(pid, sig))
                for sig in FORWARDED}
    try:
        while True:
            try:
                done, _ = wire.receive(sock)
                break
            except InterruptedError:  # pragma: no cover - PEP 475 retries
                continue
            except OSError:
                done = None
                break
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if done is None or not isinstance(done.get("code"), int):
        print("kisi: Der Hintergrunddienst hat den Befehl nicht zu Ende geführt (siehe "
              f"{wire.folder() or 'seinen Ordner'}, Protokoll des Dienstes). Bitte erneut "
              "ausführen; „KISI_SERVER=0 kisi …“ umgeht den Dienst.", file=sys.stderr)
        return 1
    return done["code"]


def _forward(pid: int, sig: int) -> None:
    """Ctrl-C and friends reach the command where it runs."""
    try:
        os.kill(pid, sig)
    except OSError:
        pass
