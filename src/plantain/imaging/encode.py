"""Resize model outputs to the served size and encode them."""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

_RESAMPLE = {"nearest": Image.Resampling.NEAREST, "lanczos": Image.Resampling.LANCZOS}


def upscale(image: Image.Image, size: tuple[int, int], resample: str = "nearest") -> Image.Image:
    """A rendered image at the served size.

    Same aspect ratio (within 1%): a plain resize. Nearest-neighbour is the mini model's filter: its
    world is flat colour with hard edges, which this keeps exactly (and a box downsample recovers
    the native image bit for bit). Another aspect ratio (a square-only model asked for 16:9): the
    image is scaled to fit inside and the rest filled with its own border colour, never stretched.
    """
    if image.size == size:
        return image
    filt = _RESAMPLE[resample]
    w, h = size
    if abs((image.width / image.height) / (w / h) - 1) <= 0.01:
        return image.resize(size, filt)
    scale = min(w / image.width, h / image.height)
    inner = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))), filt)
    canvas = Image.new(image.mode, size, border_colour(image))
    canvas.paste(inner, ((w - inner.width) // 2, (h - inner.height) // 2))
    return canvas


def border_colour(image: Image.Image) -> tuple[int, ...]:
    a = np.asarray(image.convert("RGB"))
    edge = np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])
    return tuple(int(v) for v in np.median(edge, axis=0))


def encode_png(image: Image.Image, compress_level: int = 1) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=compress_level)
    return buf.getvalue()


OUTPUT_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP"}


def encode_image(image: Image.Image, mime_type: str, quality: int | None = None, compress_level: int = 1) -> bytes:
    """PNG (lossless; `compress_level` is zlib's effort), or JPEG/WebP at `quality` (0-100)."""
    if mime_type == "image/png":
        return encode_png(image, compress_level)
    buf = io.BytesIO()
    image.convert("RGB").save(buf, format=OUTPUT_FORMATS[mime_type], quality=90 if quality is None else quality)
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
