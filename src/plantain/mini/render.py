"""Draw any scene of the mini world, exactly.

Each shape is rasterised once per (shape, size, cell, canvas size) by 8x supersampling and a 50%
coverage threshold, which gives hard-edged, geometrically faithful masks; a scene is then a cheap
composite of cached masks. The detector compares what it finds against these same masks.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw

from plantain.mini.world import BACKGROUNDS, COLOURS, SIZE_FRACTION, Scene, cell_row_col

DEFAULT_SIZE = 32
_SUPERSAMPLE = 8


def cell_centre(cell: int, canvas: int) -> tuple[float, float]:
    """(x, y) of a cell's centre in continuous pixel coordinates."""
    row, col = cell_row_col(cell)
    return ((col + 0.5) * canvas / 3, (row + 0.5) * canvas / 3)


@lru_cache(maxsize=1024)
def shape_mask(shape: str, size: str, cell: int, canvas: int = DEFAULT_SIZE) -> np.ndarray:
    """Boolean (canvas, canvas) mask of one object; cached, treat as read-only."""
    s = _SUPERSAMPLE
    big = canvas * s
    cx, cy = (v * s for v in cell_centre(cell, canvas))
    half = SIZE_FRACTION[size] * canvas * s / 2
    img = Image.new("L", (big, big), 0)
    draw = ImageDraw.Draw(img)
    if shape == "circle":
        draw.ellipse((cx - half, cy - half, cx + half, cy + half), fill=255)
    elif shape == "square":
        draw.rectangle((cx - half, cy - half, cx + half, cy + half), fill=255)
    elif shape == "triangle":
        draw.polygon([(cx, cy - half), (cx + half, cy + half), (cx - half, cy + half)], fill=255)
    elif shape == "diamond":
        draw.polygon([(cx, cy - half), (cx + half, cy), (cx, cy + half), (cx - half, cy)], fill=255)
    else:
        raise ValueError(f"unknown shape {shape!r}")
    coverage = np.asarray(img, dtype=np.float32).reshape(canvas, s, canvas, s).mean(axis=(1, 3))
    mask: np.ndarray = coverage >= 127.5
    mask.setflags(write=False)
    return mask


def render(scene: Scene, canvas: int = DEFAULT_SIZE) -> np.ndarray:
    """The scene as an RGB uint8 array of shape (canvas, canvas, 3)."""
    out = np.empty((canvas, canvas, 3), dtype=np.uint8)
    out[:] = BACKGROUNDS[scene.background]
    for obj in scene.objects:
        out[shape_mask(obj.shape, obj.size, obj.cell, canvas)] = COLOURS[obj.colour]
    return out


def render_image(scene: Scene, canvas: int = DEFAULT_SIZE) -> Image.Image:
    return Image.fromarray(render(scene, canvas), mode="RGB")
