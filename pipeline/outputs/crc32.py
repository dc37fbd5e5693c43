"""CRC-32 of two pieces joined, from the CRC-32 and length of each (zlib's crc32_combine).

The Herkunft sheet is stored as deflate chunks kept from the previous run (`xlsxstream`);
the zip member's CRC-32 is combined from the chunks' CRCs instead of reading their text
again. Python's zlib module has no crc32_combine, so it is taken from the zlib shared
library through ctypes (≈ 1 µs a call; checked once against `zlib.crc32`), and computed in
Python where that library cannot be loaded (zlib's algorithm: ≈ 45 µs a call).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

POLY = 0xEDB88320  # CRC-32, bit-reflected
_LIBRARIES = ("libz.so.1", "libz.dylib", "zlib1.dll", "libz.so")


def _multmodp(a: int, b: int) -> int:
    """a × b modulo the CRC polynomial (bit-reflected: bit 31 is x^0)."""
    m = 1 << 31
    p = 0
    while True:
        if a & m:
            p ^= b
            if (a & (m - 1)) == 0:
                return p
        m >>= 1
        b = (b >> 1) ^ POLY if b & 1 else b >> 1


def _powers() -> list[int]:
    """x^(2^k) modulo the polynomial, k = 0 … 63."""
    table = [1 << 30]  # x^1
    for _ in range(63):
        table.append(_multmodp(table[-1], table[-1]))
    return table


_X2N = _powers()


def combine_python(crc1: int, crc2: int, len2: int) -> int:
    """The CRC-32 of A + B from crc1 = crc32(A), crc2 = crc32(B), len2 = len(B)."""
    if len2 < 0:
        raise ValueError("negative length")
    p, k = 1 << 31, 3  # x^0; the shift is 8 × len2 bits
    while len2:
        if len2 & 1:
            p = _multmodp(_X2N[k & 63], p)
        len2 >>= 1
        k += 1
    return _multmodp(p, crc1) ^ crc2


def _native() -> Callable[[int, int, int], int] | None:
    """zlib's own crc32_combine64 (or crc32_combine), if a zlib library can be loaded and
    agrees with `zlib.crc32` on a sample."""
    try:
        import ctypes
    except ImportError:  # pragma: no cover - Python without ctypes
        return None
    for name in _LIBRARIES:
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        for symbol, length in (("crc32_combine64", ctypes.c_int64),
                               ("crc32_combine", ctypes.c_long)):
            fn = getattr(lib, symbol, None)
            if fn is None:
                continue
            fn.restype = ctypes.c_ulong
            fn.argtypes = [ctypes.c_ulong, ctypes.c_ulong, length]
            a, b = b"KISI Pr\xc3\xbcfpfad " * 3, b"<row>" * 1000
            if fn(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(a + b):
                return fn
    return None


_combine: Callable[[int, int, int], int] | None = None


def combine(crc1: int, crc2: int, len2: int) -> int:
    """`combine_python`, through zlib where it can be loaded."""
    global _combine
    if _combine is None:
        _combine = _native() or combine_python
    if len2 < 0:
        raise ValueError("negative length")
    return _combine(crc1, crc2, len2)
