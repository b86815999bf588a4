"""Random prompts, scenes and edits of the mini world, for training data and evaluation sets."""

from __future__ import annotations

import numpy as np

from plantain.mini.edits import EditError, EditSpec, apply_edit
from plantain.mini.grammar import ObjectSpec, PromptSpec
from plantain.mini.world import BACKGROUNDS, COLOURS, RELATIONS, SHAPES, SIZES, Obj, Scene, relation_holds

_BGS, _COLS = tuple(BACKGROUNDS), tuple(COLOURS)


def _pick(rng: np.random.Generator, items: tuple[str, ...] | list[str]) -> str:
    return str(items[int(rng.integers(len(items)))])


def random_object_spec(rng: np.random.Generator) -> ObjectSpec:
    return ObjectSpec(_pick(rng, _COLS), _pick(rng, SHAPES))


def random_prompt_spec(rng: np.random.Generator) -> PromptSpec:
    """Any prompt of the grammar; optional parts are left out about half the time."""
    bg = _pick(rng, _BGS) if rng.random() < 0.6 else None
    kind = _pick(rng, ("single", "single", "count", "relation", "relation"))
    if kind == "single":
        o = random_object_spec(rng)
        size = _pick(rng, SIZES) if rng.random() < 0.4 else None
        cell = int(rng.integers(9)) if rng.random() < 0.75 else None
        return PromptSpec(
            "single",
            (ObjectSpec(o.colour, o.shape, size, cell),),
            background=bg,
            article=_pick(rng, ("a", "a", "one")),
            preposition=_pick(rng, ("at", "at", "in")) if cell is not None else "at",
        )
    if kind == "count":
        return PromptSpec("count", (random_object_spec(rng),), count=int(rng.integers(2, 5)), background=bg)
    a = random_object_spec(rng)
    b = random_object_spec(rng)
    while b.kind == a.kind:
        b = random_object_spec(rng)
    return PromptSpec("relation", (a, b), relation=_pick(rng, tuple(RELATIONS)), background=bg)


LAYOUTS = ("any", "lines", "canonical", "anchored")

# The layouts that fix one arrangement per prompt shape: a single object without a named cell in the
# centre, counted objects in these cells, and a relation's two objects (A first) in these.
_FIXED_COUNT = {1: (4,), 2: (3, 5), 3: (3, 4, 5), 4: (0, 2, 6, 8)}
_FIXED_RELATION = {
    "canonical": {"left_of": (3, 5), "right_of": (5, 3), "above": (1, 7), "below": (7, 1)},
    # the first-named object in the centre, the second beside it on the side the relation names
    "anchored": {"left_of": (4, 5), "right_of": (4, 3), "above": (4, 7), "below": (4, 1)},
}


def _line(rng: np.random.Generator, horizontal: bool) -> tuple[int, int, int]:
    """The cells of a random row (horizontal) or column, in reading order."""
    k = int(rng.integers(3))
    return (3 * k, 3 * k + 1, 3 * k + 2) if horizontal else (k, k + 3, k + 6)


def _cells(spec: PromptSpec, rng: np.random.Generator, layout: str) -> tuple[int, ...]:
    """Cells for the prompt's objects (relation: A, B; count: `count` cells) under `layout`.

    "any" draws uniformly among every arrangement the prompt allows. "lines" puts a relation's two
    objects at the two ends of one random row or column, two or three counted objects along one
    random row or column, and four in the corners: fewer arrangements, each still valid, so that a
    small model learns where objects go from far fewer examples. "canonical" fixes one arrangement
    per prompt shape; "anchored" too, with a relation's first-named object in the centre, so that
    which object goes where depends on the order of the names alone, not also on the relation.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, not {layout!r}")
    if spec.kind == "relation":
        assert spec.relation is not None
        if layout in _FIXED_RELATION:
            return _FIXED_RELATION[layout][spec.relation]
        if layout == "lines":
            first, _, last = _line(rng, horizontal=spec.relation in ("left_of", "right_of"))
            return (first, last) if spec.relation in ("left_of", "above") else (last, first)
        pairs = [(i, j) for i in range(9) for j in range(9) if i != j and relation_holds(spec.relation, i, j)]
        return pairs[int(rng.integers(len(pairs)))]
    n = spec.count if spec.kind == "count" else 1
    if layout in _FIXED_RELATION or (layout == "lines" and n == 4):
        return _FIXED_COUNT[n]
    if n == 1:
        return (int(rng.integers(9)),)
    if layout == "lines":
        line = _line(rng, horizontal=bool(rng.integers(2)))
        return (line[0], line[2]) if n == 2 else line
    return tuple(int(c) for c in rng.choice(9, size=n, replace=False))


def scene_for(spec: PromptSpec, rng: np.random.Generator, layout: str = "any") -> Scene:
    """One scene the prompt describes, drawing whatever the prompt leaves open (cells as `layout`)."""
    bg = spec.background or _pick(rng, _BGS)

    def size_of(o: ObjectSpec) -> str:
        return o.size or _pick(rng, SIZES)

    if spec.kind == "single":
        (o,) = spec.objects
        cell = o.cell if o.cell is not None else _cells(spec, rng, layout)[0]
        return Scene(bg, (Obj(cell, o.shape, o.colour, size_of(o)),))
    if spec.kind == "count":
        (o,) = spec.objects
        return Scene(bg, tuple(Obj(c, o.shape, o.colour, size_of(o)) for c in _cells(spec, rng, layout)))
    a, b = spec.objects
    ca, cb = _cells(spec, rng, layout)
    return Scene(bg, (Obj(ca, a.shape, a.colour, size_of(a)), Obj(cb, b.shape, b.colour, size_of(b))))


def random_scene(rng: np.random.Generator, max_objects: int = 3) -> Scene:
    """A scene of 1..max_objects objects of random kinds in distinct cells (edit sources)."""
    n = int(rng.integers(1, max_objects + 1))
    cells = rng.choice(9, size=n, replace=False)
    objs = tuple(Obj(int(c), _pick(rng, SHAPES), _pick(rng, _COLS), _pick(rng, SIZES)) for c in cells)
    return Scene(_pick(rng, _BGS), objs)


def random_edit(scene: Scene, rng: np.random.Generator) -> EditSpec:
    """An edit that applies to `scene`, naming its object as briefly as the scene allows."""
    for _ in range(100):
        kind = _pick(rng, ("recolour", "recolour", "add", "remove", "move", "move", "background"))
        if kind == "background":
            bg = _pick(rng, [b for b in _BGS if b != scene.background])
            return EditSpec("background", background=bg)
        if kind == "add":
            if not scene.free_cells:
                continue
            o = random_object_spec(rng)
            cell = int(rng.choice(scene.free_cells)) if rng.random() < 0.7 else None
            return EditSpec("add", shape=o.shape, colour=o.colour, cell=cell)
        target = scene.objects[int(rng.integers(len(scene.objects)))]
        shape_unique = len(scene.of_kind(None, target.shape)) == 1
        colour: str | None = target.colour
        if scene.of_kind(target.colour, target.shape) != [target]:
            continue
        if shape_unique and rng.random() < 0.5:
            colour = None
        if kind == "remove":
            return EditSpec("remove", shape=target.shape, colour=colour)
        if kind == "recolour":
            new = _pick(rng, [c for c in _COLS if c != target.colour])
            return EditSpec("recolour", shape=target.shape, colour=colour, new_colour=new)
        if not scene.free_cells:
            continue
        return EditSpec("move", shape=target.shape, colour=colour, cell=int(rng.choice(scene.free_cells)))
    raise EditError("no edit applies to this scene")


def random_edit_example(rng: np.random.Generator) -> tuple[Scene, EditSpec, Scene]:
    source = random_scene(rng)
    edit = random_edit(source, rng)
    return source, edit, apply_edit(source, edit, rng)
