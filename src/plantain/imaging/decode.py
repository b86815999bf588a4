"""Decode and validate input images: format, pixel limit (decompression bombs), EXIF orientation."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

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
                width, height = im.size
                if width * height > max_pixels:
                    raise invalid_argument(
                        f"{what} has {width}x{height} pixels, over the limit of {max_pixels:,} pixels"
                    )
                im.load()
                return ImageOps.exif_transpose(im).convert("RGB")
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise invalid_argument(f"{what} cannot be decoded as an image ({exc.__class__.__name__})") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise invalid_argument(f"{what} is damaged or truncated and cannot be decoded") from exc


def read_image_file(path: Path, max_pixels: int) -> Image.Image:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise invalid_argument(f"cannot read {path}: {exc.strerror or exc}") from exc
    return decode_image(data, max_pixels, what=str(path))
