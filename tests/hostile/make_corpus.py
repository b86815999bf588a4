"""Writes the hostile-input corpus (tests/hostile/corpus/): broken, oversized, animated and
unusual images. Deterministic; run it again after changing it:

    python -m tests.hostile.make_corpus

Each file's name says what it is; HOSTILE lists those every route must refuse with a 4xx, VALID
those that are unusual but sound (decoded right, and answered).
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

CORPUS = Path(__file__).with_name("corpus")


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def encoded(image: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt, **kw)
    return buf.getvalue()


def picture(size: tuple[int, int] = (96, 64)) -> Image.Image:
    a = np.zeros((size[1], size[0], 3), np.uint8)
    a[:, : size[0] // 2] = (220, 30, 30)
    a[:, size[0] // 2 :] = (30, 30, 220)
    return Image.fromarray(a)


def flood_png(width: int, height: int) -> bytes:
    """A PNG header claiming width x height, with one tiny compressed row after it."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + png_chunk(b"IEND", b"")
    )


def bomb_png() -> bytes:
    """12,000 x 12,000 one-bit pixels (144 million, three times the default limit) that compress
    to a few kilobytes: decoded, the RGB image would take 432 MB."""
    row = b"\0" + b"\0" * (12_000 // 8)
    raw = zlib.compress(row * 12_000, 9)
    ihdr = struct.pack(">IIBBBBB", 12_000, 12_000, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", raw) + png_chunk(b"IEND", b"")


def text_bomb_png() -> bytes:
    """A small sound image with a zTXt chunk that inflates to 64 MB."""
    sound = encoded(picture(), "PNG")
    bomb = png_chunk(b"zTXt", b"Comment\0\0" + zlib.compress(b"A" * (64 * 1024 * 1024), 9))
    return sound[:33] + bomb + sound[33:]  # after the 8-byte signature and the 25-byte IHDR chunk


def flood_jpeg() -> bytes:
    """A real JPEG whose frame header claims 60,000 x 60,000."""
    data = bytearray(encoded(picture(), "JPEG"))
    sof = data.find(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 60_000, 60_000)
    return bytes(data)


def animated(fmt: str) -> bytes:
    frames = [picture(), picture().transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    return encoded(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)


def exif_rotated() -> bytes:
    """A 96x64 JPEG whose EXIF says "rotate 90° clockwise to show" (orientation 6): seen as 64x96."""
    exif = Image.Exif()
    exif[0x0112] = 6
    return encoded(picture(), "JPEG", exif=exif.tobytes(), quality=95)


def corrupt(data: bytes, at: int) -> bytes:
    """The bytes from `at` on replaced by noise."""
    rng = np.random.default_rng(at)
    return data[:at] + rng.integers(0, 256, len(data) - at, dtype=np.uint8).tobytes()


def corpus() -> dict[str, bytes]:
    png, jpeg, webp = encoded(picture(), "PNG"), encoded(picture(), "JPEG"), encoded(picture(), "WEBP")
    gif = encoded(picture(), "GIF")
    return {
        "zero-bytes.png": b"",
        "truncated.png": png[: len(png) // 2],
        "corrupt.png": corrupt(png, 60),
        "truncated.jpg": jpeg[: len(jpeg) // 2],
        "corrupt.jpg": corrupt(jpeg, 200),
        "truncated.webp": webp[: len(webp) // 2],
        "corrupt.webp": corrupt(webp, 30),
        "static.gif": gif,
        "truncated.gif": gif[: len(gif) // 2],
        "not-an-image.png": b"<html><script>alert(1)</script></html>",
        "pixel-flood-60000x60000.png": flood_png(60_000, 60_000),
        "pixel-flood-60000x60000.jpg": flood_jpeg(),
        "decompression-bomb-12000x12000.png": bomb_png(),
        "text-chunk-bomb.png": text_bomb_png(),
        "animated.webp": animated("WEBP"),
        "animated.png": animated("PNG"),
        "animated.gif": animated("GIF"),
        # Unusual but sound.
        "cmyk.jpg": encoded(picture().convert("CMYK"), "JPEG", quality=95),
        "16-bit.png": encoded(Image.fromarray(np.asarray(picture().convert("L")).astype(np.uint16) * 257), "PNG"),
        "exif-rotated.jpg": exif_rotated(),
    }


# Sound images the routes take (each decoded as tests/hostile/test_decode.py says).
VALID = {"cmyk.jpg", "16-bit.png", "exif-rotated.jpg"}


def main() -> None:
    CORPUS.mkdir(exist_ok=True)
    for name, data in corpus().items():
        (CORPUS / name).write_bytes(data)
        print(f"{name}: {len(data):,} bytes")


if __name__ == "__main__":
    main()
