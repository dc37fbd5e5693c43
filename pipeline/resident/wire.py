"""Where the server listens and how a command and the server talk.

One Unix socket per installation (interpreter and package folder) in a private folder of
the user: `$KISI_SERVER_DIR`, else `$XDG_RUNTIME_DIR/kisi`, else `/tmp/kisi-<uid>`. The
folder must belong to the user and be closed to everybody else (mode 0700, as ssh-agent's):
then only the user's own processes can have made the socket, and the server also checks its
peer's uid (SO_PEERCRED). A folder that fails the check is not used.

Messages are dicts of plain values in `marshal`'s format (built in: no import at start-up)
behind a 4-byte length; the first one of a command carries its standard streams
(SCM_RIGHTS). `marshal` is not meant for data from untrusted parties: both ends here are
the same user (the private folder on the command's side, the peer's uid on the server's),
who could run any code as themselves anyway.
"""

from __future__ import annotations

import _socket
import marshal
import os
import stat
import sys
import zlib
from array import array

PROTOCOL = 3
SOL_SOCKET, SO_PEERCRED = _socket.SOL_SOCKET, _socket.SO_PEERCRED
MAX_MESSAGE = 4 * 1024 * 1024  # a request holds argv and the environment: ample
SOCKET_NAME = "kisi-{key}.sock"


def folder(create: bool = False) -> str | None:
    """The private folder of the server's socket, or None if there is none fit to use."""
    base = os.environ.get("KISI_SERVER_DIR")
    if not base:
        runtime = os.environ.get("XDG_RUNTIME_DIR")
        base = os.path.join(runtime, "kisi") if runtime else f"/tmp/kisi-{os.getuid()}"
    if create:
        try:
            os.mkdir(base, 0o700)
        except FileExistsError:
            pass
        except OSError:
            return None
    try:
        st = os.lstat(base)
    except OSError:
        return None
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        return None
    return base


def identity() -> str:
    """This installation: the interpreter and the package folder."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return f"{os.path.realpath(sys.executable)}\0{package}\0{sys.version}"


def socket_path(base: str) -> str:
    key = format(zlib.crc32(identity().encode()), "08x")
    return os.path.join(base, SOCKET_NAME.format(key=key))


def connect_to_server() -> _socket.socket | None:
    """A connection to this installation's running server, None if there is none (or no
    private folder for it)."""
    base = folder()
    return None if base is None else connect(socket_path(base))


def connect(path: str) -> _socket.socket | None:
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError:
        sock.close()
        return None
    return sock


def send(sock: _socket.socket, message: dict, fds: list[int] | None = None) -> None:
    data = marshal.dumps(message)
    frame = len(data).to_bytes(4, "big") + data
    if fds:
        rights = [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, array("i", fds).tobytes())]
        sent = sock.sendmsg([frame], rights)
        frame = frame[sent:]
    if frame:
        sock.sendall(frame)


def receive(sock: _socket.socket, max_fds: int = 0) -> tuple[dict | None, list[int]]:
    """One message (None if the peer closed or sent garbage) and the descriptors that came
    with it."""
    fds: list[int] = []
    data = b""
    need = 4
    while len(data) < need:
        if max_fds and not fds and not data:
            chunk, ancillary, _flags, _addr = sock.recvmsg(
                need, _socket.CMSG_SPACE(max_fds * array("i").itemsize))
            for level, kind, payload in ancillary:
                if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
                    got = array("i")
                    got.frombytes(payload[:len(payload) - len(payload) % got.itemsize])
                    fds += list(got)
        else:
            chunk = sock.recv(min(65536, need - len(data)))
        if not chunk:
            close_all(fds)
            return None, []
        data += chunk
        if need == 4 and len(data) >= 4:
            need = 4 + int.from_bytes(data[:4], "big")
            if need > 4 + MAX_MESSAGE:
                close_all(fds)
                return None, []
    try:
        message = marshal.loads(data[4:need])
    except (ValueError, EOFError, TypeError):
        message = None
    if not isinstance(message, dict):
        close_all(fds)
        return None, []
    return message, fds


def close_all(fds: list[int]) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass
