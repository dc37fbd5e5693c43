"""Run one piece of report rendering in a forked child while the parent renders the rest.

Rendering runs after checking, when the pool's cores are idle, and its parts are
independent files (feedback per submission vs. the consolidated reports). A forked child
sees the finished result without pickling it; only its return value (e.g. the paths it
wrote) comes back through a pipe. An exception in the child is raised again in the parent (the
same exception if it can be pickled), so a full disk still stops the run.

Falls back to running in-process where `fork` is missing or only one core is configured
(`KISI_WORKERS=1`, used for profiling).
"""

from __future__ import annotations

import os
import pickle
import signal
import traceback
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class ChildFailed(RuntimeError):
    """The child died or raised something that could not be sent back."""


_ENDING: set[int] = set()  # children whose result came, not yet reaped (see `result`)


def reap_ended(block: bool = False) -> None:
    """Reap the children whose result came; `block`: wait for each (the console script,
    before it exits: so that their CPU time is counted with the command's, as `time` and
    the benchmark see it)."""
    for pid in list(_ENDING):
        try:
            done, _ = os.waitpid(pid, 0 if block else os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done:
            _ENDING.discard(pid)


class Background(Generic[T]):
    """`fn()` started in a child process; `result()` waits for it."""

    def __init__(self, fn: Callable[[], T], enabled: bool = True) -> None:
        reap_ended()
        self._value: T | None = None
        self._pid = 0
        self._fd = -1
        if not enabled or not hasattr(os, "fork"):
            self._value = fn()
            return
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: run, report, leave without running the parent's cleanup
            os.close(read_fd)
            _child(fn, write_fd)
        os.close(write_fd)
        self._pid, self._fd = pid, read_fd

    def result(self) -> T:
        if not self._pid:
            return self._value  # type: ignore[return-value]
        with os.fdopen(self._fd, "rb") as pipe:
            payload = pipe.read()  # (the child closes its end once it has written)
        pid, self._pid = self._pid, 0
        try:
            kind, value = pickle.loads(payload)
        except Exception:  # noqa: BLE001 - nothing or a torn payload: the child died
            _, status = os.waitpid(pid, 0)
            raise ChildFailed(f"Hintergrundprozess abgebrochen (Status {status})") from None
        # A whole result: the child is only ending. Its process is reaped later, not waited
        # for here (tearing down a large forked process takes milliseconds).
        _ENDING.add(pid)
        reap_ended()
        if kind == "raised":
            raise value
        if kind == "failed":
            raise ChildFailed(value)
        return value

    def abandon(self) -> None:
        """Stop a child whose result is no longer wanted (the parent is failing): kill it,
        reap it, close the pipe. Nothing happens once `result` was taken."""
        if not self._pid:
            return
        try:
            os.kill(self._pid, signal.SIGKILL)
        except ProcessLookupError:  # pragma: no cover - already gone
            pass
        os.waitpid(self._pid, 0)
        os.close(self._fd)
        self._pid = 0


def _close_inherited(keep: int) -> None:
    try:
        open_fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:  # no /proc: the first descriptors (ample for a report's few)
        open_fds = list(range(3, 1024))
    for fd in open_fds:
        if fd > 2 and fd != keep:
            try:
                os.close(fd)
            except OSError:
                pass


def _child(fn: Callable[[], object], write_fd: int) -> None:
    code = 0
    try:
        try:
            payload = pickle.dumps(("ok", fn()))
        except BaseException as exc:  # noqa: BLE001 - everything goes back to the parent
            code = 1
            try:
                payload = pickle.dumps(("raised", exc))
                pickle.loads(payload)  # an exception that pickles but does not unpickle
            except Exception:  # noqa: BLE001
                payload = pickle.dumps(("failed", traceback.format_exc()))
        # Let go of every descriptor inherited from the parent (the run's lock file above
        # all) before the parent hears back: it does not wait for this process to end.
        _close_inherited(keep=write_fd)
        with os.fdopen(write_fd, "wb") as pipe:
            pipe.write(payload)
    finally:
        os._exit(code)
