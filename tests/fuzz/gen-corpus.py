#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Write the seed corpus for fuzz_roundtrip.c (input layout: see its header).

Each file is one deliberate edge case; the replay checks every one with the
full set of round-trip or garbage assertions. Run from tests/fuzz:
    ./gen-corpus.py corpus
"""
import os
import struct
import sys

GARBAGE, PLANE8, PAD, BOTH, MOVE = 0x01, 0x02, 0x10, 0x40, 0x80
ODD = 0x04  # move mode: a 16-bit move's destination one byte further
RAW, PALETTE, RLE, RUNS = (s << 2 for s in range(4))
CH_URB, CH_WHOLE, CH_FIXED, CH_RANDOM = range(4)
MIN = 11    # DL_RLX_MIN_BYTES


def urb(size):
    """The selector byte pair for a URB of exactly @size bytes."""
    if size >= 65536:
        return 0xffff   # 11 + 2 * 0x7fff, capped at the driver's 64 KiB
    if size - MIN < 0x400:
        return size - MIN
    assert (size - MIN) % 2 == 0
    return 0x8000 | min((size - MIN) // 2, 0x7fff)


def hdr(flags=0, addr=0, npx=1, rows=1, gap=0, size=65536, chunk=CH_URB,
        cparam=0, param=0, runhi=0):
    u = urb(size)
    return bytes([flags, addr >> 16 & 0xff, addr >> 8 & 0xff, addr & 0xff,
                  (npx - 1) & 0xff, (npx - 1) >> 8, (rows - 1) | runhi << 2,
                  gap, u & 0xff, u >> 8, chunk, cparam, param])


def distinct16(n):
    """n pixels, no two neighbours equal (raw source, little-endian u16)."""
    return b''.join(struct.pack('<H', (0x8000 + i * 0x9e37) & 0xffff) for i in range(n))


def lcg(n, seed):
    out, x = bytearray(), seed
    for _ in range(n):
        x = (x * 1103515245 + 12345) & 0x7fffffff
        out.append(x >> 16 & 0xff)
    return bytes(out)


def rlx16(addr, px):
    """A hand-made RLX16 command (all pixels raw), for the garbage seeds."""
    out = bytes([0xaf, 0x6b, addr >> 16, addr >> 8 & 0xff, addr & 0xff, len(px) & 0xff,
                 len(px) & 0xff])
    return out + b''.join(struct.pack('>H', p) for p in px)


CASES = {
    # one long run: repeat counts capped at 255, then a new span
    'rt-01-run-1000px-16': hdr(RUNS, 0x000000, 1000, param=254) + b'',
    # runs of exactly 256 and 257 pixels across 256-pixel command marks
    'rt-02-runs-256-16': hdr(RUNS, 0x000200, 1030, param=255),
    'rt-03-runs-257-8': hdr(RUNS | PLANE8, 0x100000, 1030, param=0, runhi=1),
    # all distinct: a raw count of 256 goes out as 0; 257 needs a second command
    'rt-04-distinct-256-16': hdr(RAW, 0x000800, 256) + distinct16(256),
    'rt-05-distinct-257-16': hdr(RAW, 0x000800, 257) + distinct16(257),
    'rt-06-distinct-513-8': hdr(RAW | PLANE8, 0x200000, 513) + bytes(range(256)) + b'\x01',
    # the smallest URB: about one pixel a URB, fed byte by byte
    'rt-07-urb-min-16': hdr(RAW, 0x001000, 300, size=MIN, chunk=CH_FIXED, cparam=0)
                        + distinct16(300),
    'rt-08-urb-12-8': hdr(PALETTE | PLANE8, 0x001000, 700, rows=2, size=12,
                          chunk=CH_RANDOM, cparam=7) + lcg(200, 1),
    'rt-09-urb-14-16': hdr(PALETTE, 0x001001, 700, size=14, chunk=CH_WHOLE, param=3)
                       + lcg(97, 2),
    # exactly one full 256-distinct command fits (6 + 1 + 512), one byte short, over
    'rt-10-urb-519-16': hdr(RAW, 0x002000, 600, rows=2, size=519) + distinct16(1200),
    'rt-11-urb-518-16': hdr(RAW, 0x002000, 600, rows=2, size=518) + distinct16(1200),
    'rt-12-urb-520-16': hdr(RAW, 0x002000, 600, rows=2, size=520, chunk=CH_RANDOM,
                            cparam=3) + distinct16(1200),
    # spans that wrap at the top of the 16 MiB address space
    'rt-13-wrap-16': hdr(RLE, 0xfffff0, 40, rows=3, gap=5, size=30, chunk=CH_RANDOM)
                     + bytes([2, 0x11, 0x22, 0, 0x33, 0x44, 5, 0x55, 0x66]),
    'rt-14-wrap-8': hdr(RAW | PLANE8, 0xffffff, 300, rows=4, gap=1) + lcg(1200, 3),
    # udl-style 0xAF tails in every URB, fed per URB
    'rt-15-udl-pad-16': hdr(RLE | PAD, 0x003000, 900, rows=2, size=40)
                        + bytes([255, 1, 2, 255, 1, 2, 3, 9, 9, 0, 7, 7, 0, 8, 8]),
    # four rows sharing URBs, a command cut inside a row and continued
    'rt-16-rows-shared-16': hdr(RAW, 0x004000, 257, rows=4, gap=0, size=1034,
                                chunk=CH_RANDOM, cparam=9) + lcg(2056, 4),
    # 4096 pixels of a 4-colour palette in the driver's 64 KiB URB
    'rt-17-palette-4096-16': hdr(PALETTE, 0x010000, 4096, rows=2, param=17,
                                 chunk=CH_FIXED, cparam=255) + lcg(333, 5),
    'rt-18-single-px-8': hdr(RAW | PLANE8, 0x000007, 1, rows=4, gap=0, size=MIN)
                         + b'\x42\x43',
    # 24 bpp: per row an RLX16 span, then an RLX8 span, sharing URBs
    'rt-19-24bpp-both': hdr(RAW | BOTH, 0x000000, 300, rows=3, size=100,
                            chunk=CH_RANDOM, cparam=11) + lcg(2700, 6),
    'rt-20-24bpp-udl-pad-min': hdr(RLE | BOTH | PAD, 0x7ffff0, 257, rows=2, size=MIN)
                               + bytes([0, 1, 2, 3, 255, 1, 2, 3, 1, 1, 2, 4]),
}

GARBAGE_CASES = {
    # raw span longer than the command, unknown opcode, stray bytes, then valid
    'gb-01-malformed': bytes([0, 1, 2]) + bytes([0xaf, 0x6b, 0, 0, 0, 2, 5])
    + bytes(range(10)) + b'\xaf\x55' + rlx16(0x2000, [0xbeef, 0x1234]),
    # the longest pending command: RLX16, 256 one-pixel spans with K = 0, cut
    'gb-02-longest-pending': b'\xaf\x6b\x00\x10\x00\x00'
    + b'\x01\xab\xcd\x00' * 255 + b'\x01\xab',
    # every opcode once, AF AF padding and AF A0, a held register batch
    'gb-03-all-commands': bytes([
        0xaf, 0x20, 0xff, 0x00, 0xaf, 0x20, 0x0f, 0x04, 0xaf, 0x20, 0xff, 0xff,
        0xaf, 0x68, 0x00, 0x00, 0x10, 0x02, 0x11, 0x22, 0x33, 0x44,
        0xaf, 0x69, 0x00, 0x00, 0x20, 0x05, 0x02, 0xab, 0xcd, 0x03, 0x12, 0x34,
        0xaf, 0x6a, 0x00, 0x00, 0x40, 0x02, 0x00, 0x00, 0x10,
        0xaf, 0x60, 0x00, 0x01, 0x00, 0x03, 0x01, 0x02, 0x03,
        0xaf, 0x61, 0x00, 0x01, 0x10, 0x04, 0x04, 0x77,
        0xaf, 0x62, 0x00, 0x01, 0x20, 0x02, 0x00, 0x01, 0x00,
        0xaf, 0x63, 0x00, 0x01, 0x30, 0x05, 0x02, 0x08, 0x09, 0x03,
        0xaf, 0xa0, 0xaf, 0xaf, 0xaf]),
    # RL and raw commands whose counts are 0 (= 256), cut at the end
    'gb-04-count-256-cut': b'\xaf\x69\xff\xff\xff\x00' + b'\x00\x12\x34' * 2
    + b'\xaf\x68\x00\x00\x00\x00' + b'\x55' * 300,
}


MODESETS = {
    # 1024x768@60 (udl's vector, docs/protocol.md 9.5), then power-down blanking
    'ms-01-1024x768-16': bytes([0x20, 0xff, 0x03, 24, 0, 135, 160, 0xff, 0x02, 3, 0, 5, 29])
    + (65000).to_bytes(3, 'big') + (0).to_bytes(3, 'big') + (0x180000).to_bytes(3, 'big')
    + bytes([0, 0x07, CH_RANDOM, 5]),
    # the largest timings, clock and addresses, 24 bpp, fed byte by byte
    'ms-02-max-24': bytes([0x20, 0xff, 0x0f, 0xff, 1, 0xff, 0xff, 0xff, 0x0f, 0xff, 1, 0xff, 0xff])
    + (5 * 0xffff).to_bytes(3, 'big') + bytes([0xff, 0xff, 0xff, 0xab, 0xcd, 0xef])
    + bytes([1, 0x01, CH_FIXED, 0]),
    # 1x1, no porches, a clock below one 5 kHz unit
    'ms-03-tiny': bytes([0x20] + [0] * 12) + (4).to_bytes(3, 'big') + bytes(6)
    + bytes([0, 0, CH_WHOLE, 0]),
}


def mv(flags=0, src=0, npx=1, shift=0, scratch=0, bounce=0, size=65536,
       chunk=CH_URB, cparam=0, seed=1):
    """A move-mode input; @scratch is the selector byte (see move())."""
    u = urb(max(size, MIN))
    return (bytes([MOVE | flags]) + src.to_bytes(3, 'big')
            + struct.pack('<Hh', npx - 1, shift) + bytes([scratch])
            + bounce.to_bytes(3, 'big') + struct.pack('<H', u)
            + bytes([chunk, cparam]) + seed.to_bytes(4, 'big'))


MOVES = {
    # a 1920-pixel line one pixel up: 1920 one-pixel copies, back to front,
    # two a buffer
    'mv-01-1px-direct-16': mv(0, 0x001000, 1920, 1, size=18),
    # one pixel down through a 256-pixel scratch: 8 pieces of 2 copies
    'mv-02-1px-staged-16': mv(0, 0x001000, 1920, -1, scratch=201, bounce=0x800000,
                              chunk=CH_RANDOM, cparam=3),
    # the 8-bit plane, round the top of memory, 300 bytes up
    'mv-03-wrap-8': mv(PLANE8, 0xfffe00, 600, 300, chunk=CH_FIXED, cparam=4),
    # a 16-bit move by one byte: only a scratch makes it possible
    'mv-04-one-byte-16': mv(ODD, 0x002000, 700, 0, scratch=64, bounce=0x900001),
    # exactly apart (the shift is the run): 256-pixel copies; a scratch on
    # the run that must not be used
    'mv-05-touching-16': mv(0, 0x003000, 513, -513, scratch=255, bounce=0x002e00),
    # staging would pay, but the scratch lies on the destination: direct
    'mv-06-scratch-on-dst-16': mv(0, 0x004000, 1920, 1, scratch=201, bounce=0x004f00,
                                  chunk=CH_WHOLE),
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else 'corpus'
    os.makedirs(out, exist_ok=True)
    for name, data in CASES.items():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data)
    for name, data in MOVES.items():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data)
    for name, data in MODESETS.items():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data)
    for i, (name, data) in enumerate(GARBAGE_CASES.items()):
        # split the garbage in random pieces, and once byte by byte
        h = hdr(GARBAGE, 0x002000, chunk=CH_FIXED if i == 0 else CH_RANDOM, cparam=i)
        with open(os.path.join(out, name), 'wb') as f:
            f.write(h + data)


if __name__ == '__main__':
    main()
