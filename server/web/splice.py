"""A page body made of cached parts with per-request pieces between them, plain or gzipped.

The signed-in challenge page (:mod:`server.web.pagecache`) is the same for every
viewer but for a few small pieces (the CSRF token, the navigation, ...). Its parts
are encoded and compressed once; each request joins them with its own pieces.

The gzipped body is one gzip member made without compressing or checksumming the
cached parts again: each part is kept as raw deflate blocks that end on a byte
boundary with no reference back across it (a full flush), a request's piece goes
in as stored (uncompressed) blocks, and the CRC-32 of the whole is combined from
each part's own CRC, as zlib's ``crc32_combine`` does (not exposed by Python's
``zlib``). ``tests/web/test_page_cache.py`` checks the result with
``gzip.decompress``, which verifies the CRC and the length.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # no name, mtime 0, unknown OS
FINAL_BLOCK = b"\x03\x00"  # an empty last deflate block (fixed Huffman)
STORED_MAX = 0xFFFF  # the longest stored block


@dataclass(frozen=True)
class Parts:
    """The cached parts, encoded, with what the gzipped body needs of each."""

    plain: list[bytes]
    deflated: list[bytes]  # each part as raw deflate blocks, byte-aligned, self-contained
    crcs: list[int]  # each part's own CRC-32
    shifts: list[list[int]]  # each part's CRC shift operator (_crc_shift)


def prepare(parts: list[bytes], level: int) -> Parts:
    """Compress and checksum the parts once (at gzip ``level``)."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)
    # A full flush per part: byte-aligned, and nothing after it refers back across it.
    deflated = [compressor.compress(part) + compressor.flush(zlib.Z_FULL_FLUSH) for part in parts]
    return Parts(
        parts,
        deflated,
        [zlib.crc32(part) for part in parts],
        [_crc_shift(len(part)) for part in parts],
    )


def joined(parts: Parts, own: list[bytes]) -> bytes:
    """The plain body: the parts with ``own`` (one piece fewer than parts) between them."""
    out = [parts.plain[0]]
    for piece, part in zip(own, parts.plain[1:], strict=True):
        out += (piece, part)
    return b"".join(out)


def gzipped(parts: Parts, own: list[bytes]) -> bytes:
    """The same body as one gzip member: the parts' deflate blocks, ``own`` stored."""
    out = [GZIP_HEADER]
    crc = size = 0
    for index, part in enumerate(parts.plain):
        if index:
            piece = own[index - 1]
            out.append(_stored(piece))
            crc = zlib.crc32(piece, crc)
            size += len(piece)
        out.append(parts.deflated[index])
        crc = _gf2_times(parts.shifts[index], crc) ^ parts.crcs[index]
        size += len(part)
    out += (FINAL_BLOCK, struct.pack("<II", crc, size & 0xFFFFFFFF))
    return b"".join(out)


def _stored(data: bytes) -> bytes:
    """``data`` as non-final stored deflate blocks (they start and end on a byte)."""
    out = []
    for start in range(0, len(data), STORED_MAX):
        chunk = data[start : start + STORED_MAX]
        out.append(struct.pack("<BHH", 0, len(chunk), len(chunk) ^ 0xFFFF) + chunk)
    return b"".join(out)


# CRC-32 of a concatenation from the parts' own (zlib's crc32_combine): crc(A + B) is
# crc(A) shifted through len(B) zero bytes, xor crc(B). The shift is linear over GF(2):
# a 32x32 bit matrix (32 ints, one per column), made once per cached part.


def _gf2_times(matrix: list[int], vector: int) -> int:
    total = 0
    index = 0
    while vector:
        if vector & 1:
            total ^= matrix[index]
        vector >>= 1
        index += 1
    return total


def _gf2_compose(a: list[int], b: list[int]) -> list[int]:
    return [_gf2_times(a, column) for column in b]


def _crc_shift(length: int) -> list[int]:
    """The operator that appends ``length`` zero bytes to a CRC-32."""
    result = [1 << n for n in range(32)]  # identity
    # One zero bit, then squared up to one zero byte: zlib's crc32_combine.
    bit = [0xEDB88320] + [1 << n for n in range(31)]
    power = _gf2_compose(bit, bit)
    power = _gf2_compose(power, power)
    power = _gf2_compose(power, power)  # one zero byte
    while length:
        if length & 1:
            result = _gf2_compose(power, result)
        length >>= 1
        if length:
            power = _gf2_compose(power, power)
    return result
