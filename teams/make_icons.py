"""Draws the two icons the Teams app package needs, with the standard library only.

Run it from the repository root to regenerate `teams/color.png` (192x192, full colour)
and `teams/outline.png` (32x32, white on transparent, as Teams requires). The mark is a
target, a point being touched: a ring around a dot.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ACCENT = (15, 118, 110)
"""The manifest's accentColor, #0F766E: the colour icon's background."""
WHITE = (255, 255, 255)
SAMPLES = 4
"""Sub-pixels per side, so the circles' edges are smooth."""

Pixel = tuple[int, int, int, int]


def png(width: int, height: int, pixel: Callable[[int, int], Pixel]) -> bytes:
    """An 8-bit RGBA PNG: signature, IHDR, one IDAT, IEND."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    rows = b"".join(b"\x00" + b"".join(bytes(pixel(x, y)) for x in range(width))
                    for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


def coverage(size: int, x: int, y: int, inside: Callable[[float, float], bool]) -> float:
    """The share of pixel (x, y) that the shape covers, for a size x size canvas in 0..1."""
    hits = 0
    for i in range(SAMPLES):
        for j in range(SAMPLES):
            u = (x + (i + 0.5) / SAMPLES) / size
            v = (y + (j + 0.5) / SAMPLES) / size
            hits += inside(u, v)
    return hits / SAMPLES**2


def mark(u: float, v: float, ring: tuple[float, float], dot: float) -> bool:
    distance = ((u - 0.5) ** 2 + (v - 0.5) ** 2) ** 0.5
    return ring[0] <= distance <= ring[1] or distance <= dot


def color_icon() -> bytes:
    size = 192

    def pixel(x: int, y: int) -> Pixel:
        share = coverage(size, x, y, lambda u, v: mark(u, v, (0.25, 0.33), 0.12))
        r, g, b = (round(a + (w - a) * share) for a, w in zip(ACCENT, WHITE, strict=True))
        return (r, g, b, 255)

    return png(size, size, pixel)


def outline_icon() -> bytes:
    size = 32

    def pixel(x: int, y: int) -> Pixel:
        share = coverage(size, x, y, lambda u, v: mark(u, v, (0.31, 0.44), 0.16))
        return (*WHITE, round(255 * share))

    return png(size, size, pixel)


if __name__ == "__main__":
    (HERE / "color.png").write_bytes(color_icon())
    (HERE / "outline.png").write_bytes(outline_icon())
