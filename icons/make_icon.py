#!/usr/bin/env python3
"""Draw the app's source icon (a white card with a QR-like mark on teal) as a
1024x1024 PNG with only the standard library; `npx tauri icon` makes the rest."""
import struct
import sys
import zlib

N = 1024
BG = (0, 105, 92)
CARD = (255, 255, 255)
DARK = (20, 33, 61)


def pixel(x, y):
    # rounded square background
    r = 180
    cx = min(max(x, r), N - 1 - r)
    cy = min(max(y, r), N - 1 - r)
    if (x - cx) ** 2 + (y - cy) ** 2 > r * r:
        return (0, 0, 0, 0)
    if 192 <= x < 832 and 272 <= y < 752:
        # card; a 7x7 QR-like pattern on its right, two text bars on its left
        if 560 <= x < 784 and 336 <= y < 560:
            i, j = (x - 560) // 32, (y - 336) // 32
            finder = (i < 3 and j < 3) or (i > 3 and j < 3) or (i < 3 and j > 3)
            on = finder or (i * 5 + j * 3) % 3 == 0
            return DARK + (255,) if on else CARD + (255,)
        if 240 <= x < 500 and (360 <= y < 400 or 440 <= y < 470 or 500 <= y < 530):
            return DARK + (255,)
        return CARD + (255,)
    return BG + (255,)


def png(path):
    raw = bytearray()
    for y in range(N):
        raw.append(0)
        for x in range(N):
            raw.extend(pixel(x, y))
    def chunk(t, d):
        c = struct.pack(">I", len(d)) + t + d
        return c + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", N, N, 8, 6, 0, 0, 0))
    data += chunk(b"IDAT", zlib.compress(bytes(raw), 9)) + chunk(b"IEND", b"")
    open(path, "wb").write(data)


png(sys.argv[1] if len(sys.argv) > 1 else "icon-source.png")
