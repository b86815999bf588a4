"""An invisible watermark in every generated image: invisible-watermark's DWT-DCT-SVD method.

The mark is 32 bits ("PLNT") spread over the image's chroma: it survives re-encoding (JPEG down to
quality 50) and resizing when the image is brought back to its size before reading, not cropping
(docs/performance.md "Provenance" has the measured figures). It says "made by a Plantain server",
nothing about who asked: the C2PA manifest (imaging.credentials) carries the details.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pywt
from PIL import Image
from scipy.fft import dctn, idctn

MARK = b"PLNT"
BITS = np.unpackbits(np.frombuffer(MARK, dtype=np.uint8))
METHOD = "dwtDctSvd"
# Embedding strength in Y, U (V is not used by the method): chroma only, stronger than the
# library's default 36, which JPEG at quality 75 already erases from flat-coloured images.
SCALES = [0, 64, 0]
# Bits that must match to say "marked": 29 of 32 happen by chance once in about 800,000 images.
THRESHOLD = 29
# The method needs a few blocks of 4x4 DWT coefficients per bit.
MIN_SIDE = 64


@dataclass(frozen=True)
class WatermarkReading:
    bits_matched: int  # of 32
    found: bool


# The method is invisible-watermark's, written again here on every block at once with numpy: the
# library visits each 4x4 block in Python (0.3-0.7 s a 1024x1024 image on this project's CPU, more
# than drawing it; about 0.1 s here) and imports OpenCV, which needs the system's libGL.
# tests/unit/test_watermark.py holds it to the library both ways (the library reads what this
# embeds, and this reads what the library embeds).
BLOCK = 4


def _blocks(frame: np.ndarray) -> np.ndarray:
    """The frame's 4x4 blocks in row-major order (the order the bits are laid in), as (n, 4, 4)."""
    rows, cols = frame.shape[0] // BLOCK, frame.shape[1] // BLOCK
    cut = frame[: rows * BLOCK, : cols * BLOCK]
    return cut.reshape(rows, BLOCK, cols, BLOCK).swapaxes(1, 2).reshape(-1, BLOCK, BLOCK)


def _unblocks(blocks: np.ndarray, frame: np.ndarray) -> None:
    rows, cols = frame.shape[0] // BLOCK, frame.shape[1] // BLOCK
    frame[: rows * BLOCK, : cols * BLOCK] = (
        blocks.reshape(rows, cols, BLOCK, BLOCK).swapaxes(1, 2).reshape(rows * BLOCK, cols * BLOCK)
    )


def top_singular(m: np.ndarray, iterations: int = 10) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The largest singular value of each 4x4 matrix and its vectors (u, s, v), by power iteration
    on MᵀM: the method needs no other, and a full batched SVD costs several times more."""
    gram = np.swapaxes(m, 1, 2) @ m
    v = np.full((len(m), BLOCK, 1), 0.5)  # the DC direction, near the answer for image blocks
    for _ in range(iterations):
        v = gram @ v
        v /= np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
    mv = (m @ v)[:, :, 0]
    s = np.linalg.norm(mv, axis=1)
    return mv / np.maximum(s, 1e-12)[:, None], s, v[:, :, 0]


def chroma(rgb: np.ndarray) -> np.ndarray:
    """The U plane of YUV as OpenCV's BGR2YUV computes it (which the library reads), in floats."""
    r, g, b = (rgb[..., c].astype(np.float64) for c in range(3))
    luma = 0.299 * r + 0.587 * g + 0.114 * b
    return 0.492 * (b - luma) + 128.0


def embed(image: Image.Image) -> Image.Image:
    """The image with the mark (unchanged when too small to hold it)."""
    if min(image.size) < MIN_SIDE:
        return image
    rgb = np.asarray(image.convert("RGB"))
    height, width = (rgb.shape[0] // 4) * 4, (rgb.shape[1] // 4) * 4
    plane = chroma(rgb[:height, :width])
    approx, details = pywt.dwt2(plane, "haar")
    scale = SCALES[1]
    coefficients = dctn(_blocks(approx), norm="ortho", axes=(1, 2))
    u, s, v = top_singular(coefficients)
    bits = np.resize(BITS, len(s))
    wanted = (s // scale + 0.25 + 0.5 * bits) * scale
    # Only the largest singular value moves: add (wanted - s) along its own singular vectors.
    coefficients += (wanted - s)[:, None, None] * (u[:, :, None] * v[:, None, :])
    _unblocks(idctn(coefficients, norm="ortho", axes=(1, 2)), approx)
    wanted_plane = pywt.idwt2((approx, details), "haar")
    out = rgb.astype(np.float64)
    out[:height, :width] = towards_chroma(out[:height, :width], wanted_plane)
    return Image.fromarray(np.clip(np.rint(out), 0, 255).astype(np.uint8))


# U as a linear function of RGB: U = 128 + U_WEIGHTS . (R, G, B).
U_WEIGHTS = 0.492 * np.array([-0.299, -0.587, 1 - 0.114])


def towards_chroma(rgb: np.ndarray, wanted: np.ndarray, rounds: int = 3) -> np.ndarray:
    """Each pixel moved the least distance that gives it the wanted U, within 0..255. Flat, saturated
    colours are what the built-in model draws (white grounds, pure red): where blue is at 255 the
    change is carried by red and green instead, or the clipped mark would be lost."""
    out = rgb + ((wanted - (rgb @ U_WEIGHTS + 128.0)) / (U_WEIGHTS @ U_WEIGHTS))[..., None] * U_WEIGHTS
    clipped = ((out < 0) | (out > 255)).any(axis=-1)
    if not clipped.any():
        return out
    # The pixels that left 0..255 (white grounds, pure colours) again, from where they were.
    out[clipped] = _within_range(rgb[clipped], wanted[clipped], rounds)
    return out


def _within_range(rgb: np.ndarray, wanted: np.ndarray, rounds: int) -> np.ndarray:
    out = rgb.copy()
    for _ in range(rounds):
        residual = wanted - (out @ U_WEIGHTS + 128.0)
        # Channels that can still move in the direction each pixel needs.
        step = np.sign(residual)[..., None] * np.sign(U_WEIGHTS)
        free = ((step > 0) & (out < 255)) | ((step < 0) & (out > 0))
        weights = np.where(free, U_WEIGHTS, 0.0)
        norm = (weights**2).sum(axis=-1)
        move = np.divide(residual, norm, out=np.zeros_like(residual), where=norm > 0)
        out = np.clip(out + move[..., None] * weights, 0, 255)
    return out


def read(image: Image.Image, size: tuple[int, int] | None = None) -> WatermarkReading:
    """How many of the mark's bits the image holds; with `size`, read after resizing to it (an image
    scaled after it left the server is read at the size it was made)."""
    rgb = image.convert("RGB")
    if size is not None and rgb.size != size:
        rgb = rgb.resize(size, Image.Resampling.BICUBIC)
    if min(rgb.size) < MIN_SIDE:
        return WatermarkReading(0, False)
    pixels = np.asarray(rgb)
    approx, _ = pywt.dwt2(chroma(pixels[: (pixels.shape[0] // 4) * 4, : (pixels.shape[1] // 4) * 4]), "haar")
    scale = SCALES[1]
    blocks = _blocks(approx)
    _, s, _ = top_singular(dctn(blocks, norm="ortho", axes=(1, 2)))
    votes = ((s % scale) > scale * 0.5).astype(np.float64)
    index = np.arange(len(blocks)) % len(BITS)
    means = np.bincount(index, weights=votes, minlength=len(BITS)) / np.bincount(index, minlength=len(BITS))
    bits = (means * 255 > 127).astype(np.uint8)
    matched = int((bits == BITS).sum())
    return WatermarkReading(matched, matched >= THRESHOLD)
