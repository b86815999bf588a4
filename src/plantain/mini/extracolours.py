"""Colour words outside the world, for training (augmentation): a colour of an example renamed.

Training asks for recolours to seven target colours only (recolours to cyan are held out), so a
network can learn "make the square X" as seven memorised cases rather than as one operation that
paints whatever colour the word names -- and only the operation carries over to cyan. Renaming one
colour of a training example, in its text and in its pixels alike, to a colour word the world does
not have ("make the red square brown", "two navy circles") widens the set of targets the recolour
(and every other) instruction is trained on, so that reading a colour word and painting with it is
cheaper to learn once than case by case.

The renamed colours are far from every colour and background of the world (the detector reads
them as none of them) and none is cyan or a name for a colour near it; cyan is never renamed, so
the held-out rules hold for every renamed example exactly as for the example it came from.
"""

from __future__ import annotations

import numpy as np

from plantain.mini.render import shape_mask
from plantain.mini.world import COLOURS, RGB, Scene

EXTRA_COLOURS: dict[str, RGB] = {
    "brown": (150, 90, 40),
    "magenta": (230, 30, 230),  # two WordPiece pieces, like "cyan"
    "lime": (150, 245, 60),
    "navy": (20, 30, 110),
    "maroon": (120, 20, 50),
    "olive": (110, 130, 0),
    "indigo": (75, 0, 130),
    "khaki": (190, 180, 100),  # three pieces
}
# World colours an example may have renamed: all but the held-out recolour target, so that cyan is
# seen in training exactly as often as without renaming.
RENAMABLE: tuple[str, ...] = tuple(c for c in COLOURS if c != "cyan")


def rename_word(text: str, old: str, new: str) -> str:
    """`text` with every whole word `old` replaced by `new`."""
    return " ".join(new if w == old else w for w in text.split(" "))


def named_colours(text: str) -> list[str]:
    """The renamable world colours `text` names, in order of first mention."""
    words = text.split(" ")
    return [c for c in RENAMABLE if c in words]


def renamed_texts(text: str) -> list[str]:
    """Every text that renaming one colour of `text` can give (for precomputing text states)."""
    return [rename_word(text, c, e) for c in named_colours(text) for e in EXTRA_COLOURS]


def scene_colours(*scenes: Scene) -> list[str]:
    """The renamable colours of the scenes' objects, sorted (so a seed draws the same one)."""
    return sorted({o.colour for s in scenes for o in s.objects if o.colour in RENAMABLE})


def repaint(scene: Scene, image: np.ndarray, old: str, new: str) -> None:
    """Repaint in place every object of colour `old` in `image` (a render of `scene`) as `new`."""
    canvas = image.shape[0]
    for o in scene.objects:
        if o.colour == old:
            image[shape_mask(o.shape, o.size, o.cell, canvas)] = EXTRA_COLOURS[new]


def draw_renaming(text: str, scenes: tuple[Scene, ...], rng: np.random.Generator) -> tuple[str, str] | None:
    """(old, new): a colour the text names (else one of the scenes' objects has) and an extra colour
    to rename it to; None when there is none to rename."""
    choices = named_colours(text) or scene_colours(*scenes)
    if not choices:
        return None
    old = choices[int(rng.integers(len(choices)))]
    new = list(EXTRA_COLOURS)[int(rng.integers(len(EXTRA_COLOURS)))]
    return old, new


def rename_example(
    text: str,
    pairs: list[tuple[Scene, np.ndarray]],
    rng: np.random.Generator,
    p: float,
) -> str:
    """With probability `p`, rename one colour of a training example: in `text` and in every
    (scene, rendered image) pair, in place. Returns the text (renamed or not).

    At `p` 0 nothing is drawn from `rng`, so a recipe without renaming sees the data it always saw."""
    if p <= 0 or rng.random() >= p:
        return text
    renaming = draw_renaming(text, tuple(s for s, _ in pairs), rng)
    if renaming is None:
        return text
    old, new = renaming
    for scene, image in pairs:
        repaint(scene, image, old, new)
    return rename_word(text, old, new)
