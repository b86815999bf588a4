"""Off-palette colours for the objects an edit instruction leaves unnamed (training augmentation).

A model that has only seen the world's eight colours, on the kinds training allows, learns to redraw
what it recognises rather than copy what is there: shown a held-out purple triangle beside the object
it edits, it "corrects" the triangle too, and a moved one arrives in a familiar colour. Repainting
unnamed objects in random colours far from every colour and background of the world, so that no
prompt, edit or held-out rule could name them, teaches the edit path to copy whatever it is given.
"""

from __future__ import annotations

import numpy as np

from plantain.mini.detect import MAX_COLOUR_DISTANCE, PALETTE
from plantain.mini.edits import EditSpec
from plantain.mini.render import shape_mask
from plantain.mini.world import Obj, Scene


def off_palette_colour(rng: np.random.Generator) -> tuple[int, int, int]:
    """A random colour the detector reads as none of the world's colours and backgrounds."""
    while True:
        c = rng.integers(0, 256, size=3)
        if np.linalg.norm(PALETTE - c, axis=1).min() >= MAX_COLOUR_DISTANCE:
            return (int(c[0]), int(c[1]), int(c[2]))


def _named(obj: Obj, edit: EditSpec) -> bool:
    """Whether the instruction names this object's colour (so repainting it would contradict it)."""
    return edit.colour is not None and (obj.colour, obj.shape) == (edit.colour, edit.shape)


def _after(obj: Obj, edit: EditSpec, target: Scene) -> Obj | None:
    """Where a source object stands in the target with its colour unchanged; None if removed or recoloured."""
    if obj in target.objects:
        return obj
    if edit.kind == "move":  # the one object that moved, and keeps its colour
        assert edit.cell is not None
        return Obj(edit.cell, obj.shape, obj.colour, obj.size)
    return None


def repaint_unnamed(
    source: Scene,
    edit: EditSpec | None,
    target: Scene,
    src: np.ndarray,
    tgt: np.ndarray,
    rng: np.random.Generator,
    p: float,
) -> None:
    """Repaint in place, with probability `p` each, the objects of `source` whose colour `edit` does
    not name, in the source image `src` and, wherever the object still stands, in the target `tgt`.

    `edit` None is a re-render: the source is the target. At `p` 0 nothing is drawn from `rng`, so a
    recipe without repainting sees the same data stream as one that predates it."""
    if p <= 0:
        return
    canvas = src.shape[0]
    for obj in source.objects:
        if (edit is not None and _named(obj, edit)) or rng.random() >= p:
            continue
        colour = off_palette_colour(rng)
        src[shape_mask(obj.shape, obj.size, obj.cell, canvas)] = colour
        after = obj if edit is None else _after(obj, edit, target)
        if after is not None:
            tgt[shape_mask(after.shape, after.size, after.cell, canvas)] = colour
