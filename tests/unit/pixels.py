"""What a rendered image holds where an object stands, for tests of training augmentations."""

from __future__ import annotations

import numpy as np

from plantain.mini.render import shape_mask
from plantain.mini.world import Obj


def colours_at(image: np.ndarray, obj: Obj) -> set[tuple[int, ...]]:
    """The distinct RGB values of `image` under `obj`'s mask."""
    return {tuple(int(v) for v in px) for px in image[shape_mask(obj.shape, obj.size, obj.cell, image.shape[0])]}
