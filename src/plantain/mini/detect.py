"""Read an image of the mini world back into a scene.

Steps: classify every pixel to the nearest world colour (backgrounds and object colours), take the
most common background colour as the background, find connected components of each object colour,
split them at grid-cell borders (objects never cross a cell), drop specks, and classify each piece's
shape and size by overlap (IoU) with the renderer's own masks for that cell. A piece that matches no
mask well is reported with `shape=None`, so a blob never passes for a shape.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from plantain.mini.render import DEFAULT_SIZE, shape_mask
from plantain.mini.world import BACKGROUNDS, COLOURS, SHAPES, SIZES, Obj, Scene

_NAMES = list(BACKGROUNDS) + list(COLOURS)
PALETTE = np.array(list(BACKGROUNDS.values()) + list(COLOURS.values()), dtype=np.float32)
_N_BG = len(BACKGROUNDS)
# A pixel further than this (RGB distance) from every world colour is left unlabelled.
MAX_COLOUR_DISTANCE = 80.0
# Pieces smaller than this fraction of the smallest shape's area are noise.
MIN_AREA_FRACTION = 0.35
# Below this IoU with every mask, a piece is not a recognisable shape.
MIN_IOU = 0.45


@dataclass(frozen=True)
class Detection:
    """A found object with how well it matched its best mask, and where its centroid lies."""

    obj: Obj
    iou: float
    centroid: tuple[float, float]
    recognised: bool


def _cell_of(x: float, y: float, canvas: int) -> int:
    col = min(2, max(0, int(x * 3 // canvas)))
    row = min(2, max(0, int(y * 3 // canvas)))
    return 3 * row + col


def to_canvas(image: Image.Image | np.ndarray, canvas: int = DEFAULT_SIZE) -> np.ndarray:
    """An image as a (canvas, canvas, 3) uint8 array; served images are box-downsampled first."""
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    image = image.convert("RGB")
    if image.size != (canvas, canvas):
        image = image.resize((canvas, canvas), Image.Resampling.BOX)
    return np.asarray(image, dtype=np.uint8)


def detect_objects(image: Image.Image | np.ndarray, canvas: int = DEFAULT_SIZE) -> tuple[str, list[Detection]]:
    pixels = to_canvas(image, canvas).astype(np.float32)
    dist = np.linalg.norm(pixels[:, :, None, :] - PALETTE[None, None], axis=-1)
    label = dist.argmin(-1)
    label[dist.min(-1) > MAX_COLOUR_DISTANCE] = -1
    bg_counts = np.bincount(label[label >= 0].ravel(), minlength=len(_NAMES))[:_N_BG]
    background = _NAMES[int(bg_counts.argmax())]

    min_area = MIN_AREA_FRACTION * min(int(shape_mask(s, "small", 4, canvas).sum()) for s in SHAPES)
    # Cell borders as a label image, to split components that straddle cells.
    ys, xs = np.mgrid[0:canvas, 0:canvas]
    cells = (ys * 3 // canvas) * 3 + (xs * 3 // canvas)
    found: list[Detection] = []
    for ci, colour in enumerate(COLOURS):
        comps, n = ndimage.label(label == _N_BG + ci)
        for k in range(1, n + 1):
            comp = comps == k
            for cell in np.unique(cells[comp]):
                piece = comp & (cells == cell)
                area = int(piece.sum())
                if area < min_area:
                    continue
                cy, cx = ndimage.center_of_mass(piece)
                cell_id = _cell_of(cx + 0.5, cy + 0.5, canvas)
                best, best_iou = ("circle", "small"), -1.0
                for shape in SHAPES:
                    for size in SIZES:
                        mask = shape_mask(shape, size, cell_id, canvas)
                        iou = float((mask & piece).sum() / (mask | piece).sum())
                        if iou > best_iou:
                            best, best_iou = (shape, size), iou
                obj = Obj(cell_id, best[0], colour, best[1])
                found.append(Detection(obj, best_iou, (float(cx), float(cy)), best_iou >= MIN_IOU))
    return background, found


def read_scene(image: Image.Image | np.ndarray, canvas: int = DEFAULT_SIZE) -> tuple[Scene, int]:
    """The scene an image shows, and how many pieces could not be taken into it: unrecognisable
    ones, and the weaker match where two pieces share a cell (a scene holds one object per cell)."""
    background, found = detect_objects(image, canvas)
    by_cell: dict[int, Obj] = {}
    left_out = 0
    for d in sorted(found, key=lambda d: -d.iou):
        if d.recognised and d.obj.cell not in by_cell:
            by_cell[d.obj.cell] = d.obj
        else:
            left_out += 1
    return Scene(background, tuple(by_cell.values())), left_out


def detect(image: Image.Image | np.ndarray, canvas: int = DEFAULT_SIZE) -> Scene:
    """The scene an image shows (see read_scene)."""
    return read_scene(image, canvas)[0]
