"""Map tiles for browser tests: the machine that runs them may have no internet, so requests to
the default tile server are answered here with a plain grey PNG (or aborted by a test)."""

from __future__ import annotations

import struct
import zlib

DEFAULT_TILE_SERVER = "https://tile.openstreetmap.org/"


def grey_png(size: int = 256) -> bytes:
    """A plain light-grey PNG tile (no image library needed)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    rows = b"".join(b"\x00" + b"\xe4" * size for _ in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


TILE = grey_png()


async def serve_grey_tiles(context_or_page) -> None:
    """Answer every request to the default tile server with the grey tile."""
    async def answer(route) -> None:  # type: ignore[no-untyped-def]
        await route.fulfill(status=200, content_type="image/png", body=TILE)
    await context_or_page.route(DEFAULT_TILE_SERVER + "**", answer)
