"""Texts the email package made for earlier drafts, kept from run to run.

A draft's Subject (folded into encoded words) and its recipients (parsed addresses) come
out of the email package, whose import costs ≈ 10 ms of the feedback's process. A warm
run usually writes one or two drafts, for a project whose subject shape and addresses an
earlier run has seen: with the results kept in the feedback state (`Records.memo`, next
to the records), such a run does not import the email package at all.

The kept texts are valid where the records are: for one `environment` (the program's
source and the Python version, hence the email package's; see state.py); records written
under another environment are dropped with them. Values are plain text or lists of text
and are checked for that when read. In this process the texts are kept for every later
call (a bounded dict), so without a state folder this is an ordinary cache.
"""

from __future__ import annotations

from collections.abc import Callable

LIMIT = 4096  # texts kept per state (a bench run needs ≈ 200)

_texts: dict[str, str | list[str]] = {}  # this process's texts, from computing or a state
_used: set[str] = set()  # keys asked for since `begin`


def begin(saved: object) -> None:
    """Start a run: take the texts of the state (what `end` returned last time)."""
    _used.clear()
    if len(_texts) > LIMIT:
        _texts.clear()
    if isinstance(saved, dict):
        _texts.update((k, v) for k, v in saved.items() if _valid(k, v))


def end(saved: object) -> dict[str, str | list[str]]:
    """The texts to keep in the state: those it had and those used in this run (only the
    latter once there are more than LIMIT)."""
    kept = {k: v for k, v in saved.items() if _valid(k, v)} \
        if isinstance(saved, dict) else {}
    kept.update((k, _texts[k]) for k in _used if k in _texts)
    if len(kept) > LIMIT:
        kept = {k: _texts[k] for k in _used if k in _texts}
    return kept


def text(key: str, make: Callable[[], str | list[str]]) -> str | list[str]:
    """The kept value of `key`, made (and kept) if there is none."""
    _used.add(key)
    found = _texts.get(key)
    if found is None:
        found = _texts[key] = make()
    return found


def _valid(key: object, value: object) -> bool:
    return isinstance(key, str) and (isinstance(value, str) or (
        isinstance(value, list) and all(isinstance(v, str) for v in value)))
