"""Masked edits: read a mask, and keep every pixel outside it exactly as the input had it.

A mask says where an edit may paint. OpenAI's convention is a PNG with alpha whose transparent
pixels are the area to edit; Imagen's is a black-and-white image whose white pixels are. Both become
one weight per pixel (1: paint here, 0: keep the input), and the answer is the input blended with
the edited image by that weight, so a weight of 0 gives the input's own pixel, bit for bit.
"""

from __future__ import annotations

import io
from typing import Literal

import numpy as np
from PIL import Image, UnidentifiedImageError

from plantain.core.errors import invalid_argument

MaskConvention = Literal["alpha", "white"]


def read_mask(data: bytes, size: tuple[int, int], convention: MaskConvention, max_pixels: int) -> Image.Image:
    """The mask as an "L" image (255: edit, 0: keep), checked against the image it masks."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.width * im.height > max_pixels:
                raise invalid_argument(f"the mask has {im.width}x{im.height} pixels, over the limit", "mask")
            im.load()
            mask = im.copy()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise invalid_argument("the mask cannot be decoded as an image", "mask") from exc
    if mask.size != size:
        raise invalid_argument(
            f"the mask is {mask.width}x{mask.height} but the image it masks is {size[0]}x{size[1]}: "
            "they must be the same size",
            "mask",
        )
    if convention == "alpha":
        has_alpha = mask.mode in ("RGBA", "LA", "PA") or (mask.mode == "P" and "transparency" in mask.info)
        if not has_alpha:
            raise invalid_argument(
                "the mask must be a PNG with an alpha channel (transparent: the area to edit)", "mask"
            )
        alpha = np.asarray(mask.convert("RGBA"))[:, :, 3]
        return Image.fromarray((255 - alpha).astype(np.uint8), mode="L")
    return mask.convert("L")


def apply_mask(original: Image.Image, edited: Image.Image, mask: Image.Image) -> Image.Image:
    """`edited` where the mask allows, `original` elsewhere (exactly), blended where it is partial.
    An edit drawn at another size is compared at that size: original and mask are resized to it."""
    size = edited.size
    if original.size != size:
        original = original.resize(size, Image.Resampling.LANCZOS)
        mask = mask.resize(size, Image.Resampling.NEAREST)
    w = np.asarray(mask, dtype=np.uint16)[:, :, None]
    a = np.asarray(original.convert("RGB"), dtype=np.uint16)
    b = np.asarray(edited.convert("RGB"), dtype=np.uint16)
    # Integer blend, rounded: a weight of 0 or 255 returns one side unchanged.
    out = (a * (255 - w) + b * w + 127) // 255
    return Image.fromarray(out.astype(np.uint8), mode="RGB")
