"""Walk the inbox: store every file before parsing, unpack e-mails and zips, date each one.

Nothing in the inbox is changed. Names of attachments and archive members are only shown,
never used to build a path: bytes go to the content-addressed store under their hash.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path, PurePosixPath

from pipeline.intake.archive import Member, is_zip_archive, members
from pipeline.intake.mail import read_mail, utf8_text
from pipeline.intake.model import TZ, Origin, Received
from pipeline.intake.statindex import StatIndex
from pipeline.intake.store import Store
from pipeline.outputs.atomic import write_bytes
from pipeline.spec import Limits
from pipeline.xlsx.model import XlsxError

SKIPPED_NAMES = {"README.md", "LIESMICH.md", "Thumbs.db", "desktop.ini"}
WAIVER_STEM = "ausnahmen"
SEP = " › "


def skipped(rel: Path) -> bool:
    """Dotfiles, the inbox's README and the analyst's waiver file are not submissions."""
    if any(part.startswith((".", "~$")) for part in rel.parts):
        return True
    return len(rel.parts) == 1 and (rel.name in SKIPPED_NAMES or rel.stem.lower() == WAIVER_STEM)


def collect(inbox: Path, store: Store, limits: Limits) -> list[Received]:
    return list(iter_collect(inbox, store, limits))


def iter_collect(inbox: Path, store: Store, limits: Limits,
                 trust_stat: bool = True) -> Iterator[Received]:
    """Each received file as soon as it is stored (the report checks the first files while
    later ones are still being stored), in the order of `collect`. With `trust_stat`, a
    plain file whose stat is unchanged since the last run is not read again
    (`StatIndex`)."""
    plain = Plain(store, limits)
    index = StatIndex(store.root / "cache" if trust_stat else None, inbox)
    for parts, st in sorted(_walk(str(inbox), ())):
        rel = PurePosixPath(*parts)
        if not skipped(rel):
            yield from _take(inbox.joinpath(*parts), utf8_text(rel.as_posix()), store, limits,
                             plain, st, index)
    plain.save()
    index.save()


def _walk(folder: str, parts: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], os.stat_result]]:
    """The regular files below `folder` (path parts, stat), as `Path.rglob` finds them:
    symbolic links are neither followed nor taken, unreadable subfolders are passed over.
    One directory scan and one stat per file (rglob and the checks took four)."""
    try:
        with os.scandir(folder) as found:
            entries = list(found)
    except PermissionError:
        if not parts:
            raise
        return
    for entry in entries:
        if entry.is_symlink():
            continue
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(entry.path, (*parts, entry.name))
        elif entry.is_file(follow_symlinks=False):
            yield (*parts, entry.name), entry.stat(follow_symlinks=False)


class Plain:
    """The stored files already found not to be zip archives of submissions (a workbook is
    a zip too: telling them apart opens its directory, ≈ 0.1 ms a file), kept in the
    store's cache for the next run. The verdict depends only on the bytes (named by their
    sha256), the member limit and the program, which name the file."""

    def __init__(self, store: Store | None, limits: Limits) -> None:
        from pipeline.checkcache import code_digest  # (imports the checking modules)

        key = hashlib.sha256(f"{code_digest()}\n{sys.version}\n{limits.max_members}"
                             .encode()).hexdigest()[:20]
        self.path = store.root / "cache" / f"keine-archive-{key}.json" if store else None
        self.known: set[str] = set()
        self.added = False
        if self.path is None:
            return
        try:
            found = json.loads(self.path.read_bytes())
            if isinstance(found, list):
                self.known = {sha for sha in found if isinstance(sha, str)}
        except (OSError, ValueError):
            self.known = set()

    def is_archive(self, data: bytes, sha: str, limits: Limits) -> bool:
        if sha in self.known:
            return False
        found = is_zip_archive(data, limits)
        if not found:
            self.known.add(sha)
            self.added = True
        return found

    def save(self) -> None:
        if self.path is not None and self.added:
            write_bytes(self.path, json.dumps(sorted(self.known)).encode("ascii"),
                        durable=False)  # a lost or short file only costs the checks again
            self.added = False


def _mtime(path: Path, st: os.stat_result | None = None) -> datetime:
    return datetime.fromtimestamp(int((st or path.stat()).st_mtime), TZ)


def _problem(sha: str, where: Path, datei: str, size: int, eingang: datetime,
             origin: Origin, rule: str, **params: str) -> Received:
    return Received(where, datei, sha, size, eingang, origin,
                    (rule, tuple(sorted(params.items()))))


def direct(path: Path) -> Received:
    """A single file checked in place (`kisi validate`), without store or unpacking."""
    from pipeline.intake.store import sha256_file

    return Received(path, path.name, sha256_file(path), path.stat().st_size, _mtime(path),
                    Origin("datei", path.name))


def _take(path: Path, rel: str, store: Store, limits: Limits, plain: Plain | None = None,
          st: os.stat_result | None = None, index: StatIndex | None = None) -> list[Received]:
    st = st or path.stat()
    size = st.st_size
    eingang = _mtime(path, st)
    origin = Origin("datei", rel)
    if size > limits.max_container_bytes:
        sha, where = store.put_file(path)
        return [_problem(sha, where, rel, size, eingang, origin, "DATEI_ZU_GROSS",
                         groesse=f"{size / 1e6:.1f} MB",
                         grenze=f"{limits.max_container_bytes / 1e6:.0f} MB")]
    suffix = path.suffix.lower()
    if index is not None and plain is not None and suffix not in (".eml", ".zip"):
        sha = index.sha(rel, st)  # unchanged since the last run: the store has its bytes
        where = store.stored(sha) if sha is not None and sha in plain.known else None
        if where is not None:
            index.note(rel, st, sha)
            return [Received(where, rel, sha, size, eingang, origin)]
    data = path.read_bytes()
    sha, where = store.put(data)
    if suffix == ".eml":
        return _from_mail(data, sha, where, rel, eingang, store, limits)
    if suffix == ".zip" or (plain.is_archive(data, sha, limits) if plain
                            else is_zip_archive(data, limits)):
        return _from_archive(data, sha, where, rel, eingang, origin, store, limits, depth=1)
    if index is not None and len(data) == size:  # (not rewritten while it was read)
        index.note(rel, st, sha)
    return [Received(where, rel, sha, size, eingang, origin)]


def _from_mail(data: bytes, sha: str, where: Path, rel: str, file_time: datetime,
               store: Store, limits: Limits) -> list[Received]:
    mail = read_mail(data)
    eingang = mail.date or file_time
    if not mail.attachments:
        origin = Origin("email", rel, "", mail.sender, mail.subject, mail.date_text)
        others = ", ".join(mail.other_attachments) or "keine"
        return [_problem(sha, where, rel, len(data), eingang, origin,
                         "EMAIL_OHNE_ANHANG", anhaenge=others)]
    found = []
    for att in mail.attachments:
        origin = Origin("email", rel, att.name, mail.sender, mail.subject, mail.date_text)
        datei = f"{rel}{SEP}{att.name}"
        att_sha, att_where = store.put(att.data)
        if is_zip_archive(att.data, limits):
            found.extend(_from_archive(att.data, att_sha, att_where, datei, eingang, origin,
                                       store, limits, depth=1))
        else:
            found.append(Received(att_where, datei, att_sha, len(att.data), eingang, origin))
    return found


def _from_archive(data: bytes, sha: str, where: Path, datei: str, eingang: datetime,
                  origin: Origin, store: Store, limits: Limits, depth: int) -> list[Received]:
    if depth > limits.max_archive_depth:
        return [_problem(sha, where, datei, len(data), eingang, origin,
                         "ARCHIV_ZU_TIEF", grenze=str(limits.max_archive_depth))]
    found: list[Received] = []
    try:  # one member in memory at a time: an archive may hold up to 1000 of 25 MB each
        for m in members(data, limits):
            found.extend(_from_member(m, sha, where, datei, eingang, origin, store, limits,
                                      depth))
    except XlsxError as err:
        return [_problem(sha, where, datei, len(data), eingang, origin,
                         "ARCHIV_UNLESBAR", detail=err.detail or err.code)]
    if not found:
        found.append(_problem(sha, where, datei, len(data), eingang, origin, "ARCHIV_LEER"))
    return found


def _from_member(m: Member, sha: str, where: Path, datei: str, eingang: datetime,
                 origin: Origin, store: Store, limits: Limits, depth: int) -> list[Received]:
    shown = f"{datei}{SEP}{PurePosixPath(m.name).as_posix()}"
    member_origin = Origin("archiv", origin.path, _chain(origin.member, m.name),
                           origin.sender, origin.subject, origin.mail_date)
    if m.data is None:
        return [_problem(sha, where, shown, 0, eingang, member_origin,
                         "ARCHIV_UNLESBAR", detail=f"{m.name}: {m.problem}")]
    m_sha, m_where = store.put(m.data)
    if is_zip_archive(m.data, limits):
        return _from_archive(m.data, m_sha, m_where, shown, eingang, member_origin,
                             store, limits, depth + 1)
    return [Received(m_where, shown, m_sha, len(m.data), eingang, member_origin)]


def _chain(outer: str, inner: str) -> str:
    return f"{outer}{SEP}{inner}" if outer else inner
