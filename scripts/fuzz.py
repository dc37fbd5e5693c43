"""Fuzz the workbook reader: mutate valid workbooks and check that nothing but findings come out.

    python scripts/fuzz.py                 # 60 seconds
    python scripts/fuzz.py --seconds 600   # longer
    python scripts/fuzz.py --examples 500  # a fixed number of examples instead
    python scripts/fuzz.py --replay tests/fixtures/fuzz/<file>.xlsx

Each example is a valid workbook (our generator, openpyxl, LibreOffice) whose XML attribute
values and texts, elements, zip members and bytes were mutated by hypothesis (see
tests/hostile.py `mutations`), run through pipeline.validate.check_bytes. Any exception is a
failure: hypothesis shrinks it, the smallest failing file is saved to tests/fixtures/fuzz/
(tests/test_fuzz.py replays every file there) and printed with a reproducer. Exit code 1 when
something failed, 0 otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, given, settings  # noqa: E402

from pipeline.spec import load_programme  # noqa: E402
from pipeline.validate import check_bytes  # noqa: E402
from tests.hostile import fuzz_seeds, mutations  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "fuzz"
BATCH = 50  # examples per hypothesis run; runs repeat until the time budget is spent
PROG = load_programme()


def check(data: bytes) -> None:
    """What must hold for any bytes: check_bytes returns (findings), it never raises."""
    check_bytes(data, "fuzz.xlsx", hashlib.sha256(data).hexdigest(), PROG)


def save(data: bytes) -> Path:
    FIXTURES.mkdir(parents=True, exist_ok=True)
    path = FIXTURES / f"{hashlib.sha256(data).hexdigest()[:16]}.xlsx"
    path.write_bytes(data)
    return path


def run_batch(seeds: list[bytes], examples: int, derandomize: bool) -> bytes | None:
    """One hypothesis run; the (shrunk) failing input, or None."""
    last: list[bytes] = []

    @settings(max_examples=examples, deadline=None, database=None, derandomize=derandomize,
              suppress_health_check=list(HealthCheck), print_blob=False)
    @given(mutations(seeds))
    def fuzz(data: bytes) -> None:
        last[:] = [data]
        check(data)

    try:
        fuzz()
    except Exception as exc:  # hypothesis re-raises the shrunk failure after replaying it
        exc.__notes__ = []  # the falsifying example is the whole file: saved, not printed
        traceback.print_exception(exc, limit=-6)
        return last[0] if last else b""
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="time budget (default 60)")
    parser.add_argument("--examples", type=int, default=0,
                        help="run this many examples instead of a time budget")
    parser.add_argument("--replay", type=Path, nargs="*", default=[],
                        help="check saved files instead of fuzzing")
    args = parser.parse_args(argv)
    if args.replay:
        for path in args.replay:
            check(path.read_bytes())
            print(f"ok {path}")
        return 0
    seeds = fuzz_seeds()
    started, done, failures = time.monotonic(), 0, []
    while True:
        if args.examples:
            size = min(BATCH, args.examples - done)
        else:
            size = BATCH if time.monotonic() - started < args.seconds else 0
        if size <= 0:
            break
        failed = run_batch(seeds, size, derandomize=False)
        done += size
        if failed is not None:
            path = save(failed)
            failures.append(path)
            print(f"\nFAILED: reproduce with  python scripts/fuzz.py --replay {path}\n")
    elapsed = time.monotonic() - started
    print(f"{done} examples in {elapsed:.0f} s, {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
