"""Resize model outputs to the served size and encode them."""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

from PIL import Image


def upscale(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Native output to the served size. Nearest-neighbour: the mini world is flat colour with hard
    edges, which this keeps exactly (and a box downsample recovers the native image bit for bit)."""
    if image.size == size:
        return image
    return image.resize(size, Image.Resampling.NEAREST)


def encode_png(image: Image.Image, compress_level: int = 1) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=compress_level)
    return buf.getvalue()


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, then rename: a reader never sees half a file, and a
    failure leaves nothing behind."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
