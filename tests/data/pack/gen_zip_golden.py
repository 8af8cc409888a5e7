#!/usr/bin/env python3
"""Writes small.zip: the archive synap_zipw must produce for two entries
(a.txt = "hello\n", d/b.bin = 00 01 02), built here independently of
lib/util/zip.c from PKWARE's APPNOTE layout: stored, DOS date 1980-01-01,
time 0, version 1.0, local extra = one 0xd935 alignment record padding each
entry's data to a multiple of 64. Used by tests/unit/test_zip.c."""
import os
import struct
import zlib

ENTRIES = [("a.txt", b"hello\n"), ("d/b.bin", bytes([0, 1, 2]))]


def build(entries):
    out, cd = b"", b""
    for name, data in entries:
        nb = name.encode()
        off = len(out)
        start = off + 30 + len(nb) + 6
        extra = 6 + (64 - start % 64) % 64
        crc = zlib.crc32(data)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 10, 0, 0, 0, 0x21, crc, len(data),
                           len(data), len(nb), extra) + nb
        out += struct.pack("<HHH", 0xD935, extra - 4, 64) + bytes(extra - 6) + data
        cd += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 10, 10, 0, 0, 0, 0x21, crc,
                          len(data), len(data), len(nb), 0, 0, 0, 0, 0, off) + nb
    cdo = len(out)
    out += cd
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(cd), cdo, 0)
    return out


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "small.zip"), "wb") as f:
        f.write(build(ENTRIES))
