"""Quick, reproducible fuzzing (derandomized, so CI sees the same examples every run).

The long run is `python scripts/fuzz.py --seconds N`; every file it found is kept in
tests/fixtures/fuzz/ and replayed here.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.intake.archive import members
from pipeline.intake.mail import read_mail
from pipeline.spec import load_programme
from pipeline.validate import check_bytes
from pipeline.xlsx import XlsxError
from tests import hostile as H

PROG = load_programme()
FIXTURES = Path(__file__).parent / "fixtures" / "fuzz"
SEEDS = H.fuzz_seeds()
QUICK = settings(max_examples=100, deadline=None, derandomize=True, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _check(data: bytes) -> None:
    checked = check_bytes(data, "fuzz.xlsx", hashlib.sha256(data).hexdigest(), PROG)
    assert checked.readable or checked.findings  # a refusal always says why
    for f in checked.findings:
        assert f.datei == "fuzz.xlsx" and f.meldung


@QUICK
@given(H.mutations(SEEDS))
def test_mutated_workbooks_give_findings_never_exceptions(data: bytes) -> None:
    _check(data)


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.xlsx")), ids=lambda p: p.stem)
def test_files_found_by_fuzzing_stay_fixed(path: Path) -> None:
    _check(path.read_bytes())


MAIL = H.mail([("Bericht.xlsx", b"PK\x03\x04data", H.XLSX_MIME)])


@QUICK
@given(st.integers(0, len(MAIL)), st.integers(0, 200),
       st.sampled_from([b"", b"\r\n", b"=?", b"?=", b"=?utf-8?b?", b"*0*=", b"''", b"%", b'"',
                        b"\xff\xfe", b"boundary=", b"--", b"Content-Type: multipart/mixed; "
                        b"boundary=x\r\n\r\n--x\r\n", b"Date: ", b"filename*="]) | st.binary(
           max_size=30))
def test_mutated_mails_never_raise(at: int, cut: int, insert: bytes) -> None:
    mail = read_mail(MAIL[:at] + insert + MAIL[at + cut:])
    for text in (mail.sender, mail.subject, *(a.name for a in mail.attachments)):
        text.encode("utf-8")  # storable in CSV, XLSX and SQLite


ARCHIVE = H.zip_bytes({"a.xlsx": b"PK" + bytes(300), "Q2/b.xlsx": b"x" * 1000})


@QUICK
@given(st.lists(st.tuples(st.integers(0, len(ARCHIVE) - 1), st.integers(1, 255)),
                max_size=6), st.integers(0, len(ARCHIVE)))
def test_mutated_archives_raise_only_xlsx_errors(flips: list[tuple[int, int]],
                                                 keep: int) -> None:
    data = bytearray(ARCHIVE)
    for at, bits in flips:
        data[at] ^= bits
    try:
        for member in members(bytes(data[:keep]), PROG.limits):
            assert member.data is not None or member.problem
    except XlsxError:
        pass
