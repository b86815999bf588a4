"""Edit instructions of the mini world: their specs, text, parsing, and what they do to a scene."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from plantain.mini.grammar import normalise
from plantain.mini.world import BACKGROUNDS, COLOURS, POSITIONS, SHAPES, SIZES, Obj, Scene


class EditError(ValueError):
    """The instruction does not apply to this scene (nothing or more than one thing matches)."""


@dataclass(frozen=True)
class EditSpec:
    """kind is recolour, add, remove, move or background.

    `colour`/`shape` name the object acted on (colour may be omitted for recolour, remove, move);
    `new_colour` is the recolour target; `cell` the place for add (optional) and move;
    `background` the new background.
    """

    kind: str
    shape: str | None = None
    colour: str | None = None
    new_colour: str | None = None
    cell: int | None = None
    background: str | None = None


# Instructions that ask for the same picture again (a draft re-rendered at a larger size, say): the
# model learns them as edits that change nothing.
RERENDER_INSTRUCTIONS = (
    "render this at 4k",
    "render this at 2k",
    "render this at 1k",
    "render this in high resolution",
    "render the final image",
    "upscale this",
    "upscale this image",
    "make it sharper",
    "keep everything as it is",
)


def edit_text(edit: EditSpec) -> str:
    ref = f"{edit.colour} {edit.shape}" if edit.colour else f"{edit.shape}"
    if edit.kind == "recolour":
        return f"make the {ref} {edit.new_colour}"
    if edit.kind == "add":
        where = f" at the {POSITIONS[edit.cell]}" if edit.cell is not None else ""
        return f"add a {edit.colour} {edit.shape}{where}"
    if edit.kind == "remove":
        return f"remove the {ref}"
    if edit.kind == "move":
        assert edit.cell is not None
        return f"move the {ref} to the {POSITIONS[edit.cell]}"
    if edit.kind == "background":
        return f"change the background to {edit.background}"
    raise ValueError(f"unknown edit kind {edit.kind!r}")


def _alt(words: Iterable[object]) -> str:
    return "|".join(sorted((re.escape(str(w)) for w in words), key=len, reverse=True))


_C, _S, _P = _alt(COLOURS), _alt(SHAPES), _alt(POSITIONS)
_REF = rf"(?:(?P<colour>{_C}) )?(?P<shape>{_S})"
_PATTERNS = {
    "recolour": re.compile(rf"^make the {_REF} (?P<new>{_C})$"),
    "add": re.compile(rf"^add a (?P<colour>{_C}) (?P<shape>{_S})(?: at the (?P<pos>{_P}))?$"),
    "remove": re.compile(rf"^remove the {_REF}$"),
    "move": re.compile(rf"^move the {_REF} to the (?P<pos>{_P})$"),
    "background": re.compile(rf"^change the background to (?P<bg>{_alt(BACKGROUNDS)})$"),
}


def parse_edit(text: str) -> EditSpec | None:
    """The edit an instruction asks for, or None when it lies outside the world's grammar."""
    t = normalise(text)
    for kind, pattern in _PATTERNS.items():
        if m := pattern.match(t):
            g = m.groupdict()
            cell = POSITIONS.index(g["pos"]) if g.get("pos") else None
            return EditSpec(
                kind,
                shape=g.get("shape"),
                colour=g.get("colour"),
                new_colour=g.get("new"),
                cell=cell,
                background=g.get("bg"),
            )
    return None


def referent(scene: Scene, edit: EditSpec) -> Obj:
    """The one object an instruction names; EditError when none or several match."""
    assert edit.shape is not None
    found = scene.of_kind(edit.colour, edit.shape)
    if len(found) != 1:
        what = f"{edit.colour} {edit.shape}" if edit.colour else edit.shape
        raise EditError(f"the image has {len(found)} objects matching '{what}', the edit needs exactly one")
    return found[0]


def apply_edit(scene: Scene, edit: EditSpec, rng: np.random.Generator | None = None) -> Scene:
    """The scene after the edit. For `add`, an unnamed place and the size are drawn from `rng`."""
    if edit.kind == "background":
        assert edit.background is not None
        return scene.replace(None, None, background=edit.background)
    if edit.kind == "add":
        assert edit.shape is not None and edit.colour is not None
        free = scene.free_cells
        if edit.cell is not None and edit.cell not in free:
            raise EditError(f"the {POSITIONS[edit.cell]} is already taken")
        if not free:
            raise EditError("the image has no free place")
        rng = rng or np.random.default_rng(0)
        cell = edit.cell if edit.cell is not None else int(rng.choice(free))
        return scene.replace(None, Obj(cell, edit.shape, edit.colour, str(rng.choice(SIZES))))
    old = referent(scene, edit)
    if edit.kind == "remove":
        return scene.replace(old, None)
    if edit.kind == "recolour":
        assert edit.new_colour is not None
        return scene.replace(old, Obj(old.cell, old.shape, edit.new_colour, old.size))
    if edit.kind == "move":
        assert edit.cell is not None
        if edit.cell != old.cell and edit.cell not in scene.free_cells:
            raise EditError(f"the {POSITIONS[edit.cell]} is already taken")
        return scene.replace(old, Obj(edit.cell, old.shape, old.colour, old.size))
    raise ValueError(f"unknown edit kind {edit.kind!r}")


def is_edit_instruction(text: str) -> bool:
    """Whether the text only makes sense applied to an image: an edit, or a re-render request."""
    return parse_edit(text) is not None or normalise(text) in RERENDER_INSTRUCTIONS
