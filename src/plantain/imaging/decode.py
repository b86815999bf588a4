"""Decode and validate input images: format, one frame, pixel limit (decompression bombs), EXIF orientation."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from plantain.core.errors import invalid_argument

ACCEPTED_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}


# The first bytes of each accepted format (WebP: "RIFF", four bytes of size, then "WEBP").
MAGIC = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"))


def sniff_mime_type(data: bytes) -> str:
    """The MIME type an upload's bytes say it is (never the one its sender claims);
    application/octet-stream for anything else, which the checks then refuse by name."""
    for magic, mime in MAGIC:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"


def decode_image(data: bytes, max_pixels: int, what: str = "the input image") -> Image.Image:
    """An RGB image from encoded bytes, or ServiceError (invalid) saying what is wrong with them."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                if im.format not in ACCEPTED_FORMATS:
                    raise invalid_argument(
                        f"{what} is {im.format or 'of an unknown format'}; accepted: PNG, JPEG, WebP"
                    )
                frames = int(getattr(im, "n_frames", 1))
                if frames > 1:
                    # Which frame to draw from or edit would be a guess: refused, by name.
                    raise invalid_argument(f"{what} is animated ({frames} frames); send a single frame")
                width, height = im.size
                if width * height > max_pixels:
                    raise invalid_argument(
                        f"{what} has {width}x{height} pixels, over the limit of {max_pixels:,} pixels"
                    )
                im.load()
                return to_rgb(ImageOps.exif_transpose(im))
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise invalid_argument(f"{what} cannot be decoded as an image ({exc.__class__.__name__})") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise invalid_argument(f"{what} is damaged or truncated and cannot be decoded") from exc


def to_rgb(im: Image.Image) -> Image.Image:
    """8-bit RGB. Pillow's own conversion clips 16- and 32-bit grey to 255 (a 16-bit PNG would turn
    white): those are scaled down to 8 bits first."""
    if im.mode.startswith("I"):
        values = np.asarray(im, dtype=np.uint32)
        shift = 8 if im.mode.startswith("I;16") or values.max(initial=0) > 255 else 0
        return Image.fromarray((values >> shift).clip(0, 255).astype(np.uint8), "L").convert("RGB")
    return im.convert("RGB")


def read_image_file(path: Path, max_pixels: int) -> Image.Image:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise invalid_argument(f"cannot read {path}: {exc.strerror or exc}") from exc
    return decode_image(data, max_pixels, what=str(path))
