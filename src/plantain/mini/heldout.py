"""The combinations the mini model never sees in training, and the fixed evaluation set built from them.

Rules (from the world's specification): every purple triangle and every orange diamond; every
relation "below" between a circle and a square; every count of four on a sky background; every
recolour edit whose target colour is cyan. Training excludes any prompt, edit or image that touches
one; the evaluation set is made only of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from plantain.mini.edits import EditSpec, apply_edit
from plantain.mini.grammar import ObjectSpec, PromptSpec
from plantain.mini.sampling import random_edit, random_edit_example, random_prompt_spec, random_scene, scene_for
from plantain.mini.world import BACKGROUNDS, COLOURS, RELATIONS, SHAPES, SIZES, Obj, Scene

HELD_OUT_KINDS = frozenset({("purple", "triangle"), ("orange", "diamond")})
EVAL_SEED = 20261125


def kind_held_out(colour: str | None, shape: str | None) -> bool:
    return (colour, shape) in HELD_OUT_KINDS


def scene_held_out(scene: Scene) -> bool:
    if any(o.kind in HELD_OUT_KINDS for o in scene.objects):
        return True
    kinds = [o.kind for o in scene.objects]
    return scene.background == "sky" and len(kinds) == 4 and len(set(kinds)) == 1


def prompt_held_out(spec: PromptSpec) -> bool:
    if any(o.kind in HELD_OUT_KINDS for o in spec.objects):
        return True
    if spec.kind == "relation" and spec.relation == "below" and {o.shape for o in spec.objects} == {"circle", "square"}:
        return True
    return spec.kind == "count" and spec.count == 4 and spec.background == "sky"


def edit_held_out(edit: EditSpec) -> bool:
    if edit.kind == "recolour" and edit.new_colour == "cyan":
        return True
    if edit.kind == "recolour" and edit.shape is not None and kind_held_out(edit.new_colour, edit.shape):
        return True
    return kind_held_out(edit.colour, edit.shape)


def example_held_out(edit: EditSpec, source: Scene, target: Scene) -> bool:
    return edit_held_out(edit) or scene_held_out(source) or scene_held_out(target)


@dataclass(frozen=True)
class EditCase:
    source: Scene
    edit: EditSpec
    seed: int


@dataclass(frozen=True)
class PromptCase:
    spec: PromptSpec
    seed: int


def _held_kind(rng: np.random.Generator) -> tuple[str, str]:
    kinds = sorted(HELD_OUT_KINDS)
    return kinds[int(rng.integers(len(kinds)))]


def _obj(kind: tuple[str, str]) -> ObjectSpec:
    return ObjectSpec(*kind)


def _other_kind(rng: np.random.Generator, avoid: tuple[str, str]) -> tuple[str, str]:
    while True:
        kind = (str(rng.choice(list(COLOURS))), str(rng.choice(SHAPES)))
        if kind != avoid and kind not in HELD_OUT_KINDS:
            return kind


def eval_prompts(seed: int = EVAL_SEED) -> list[PromptCase]:
    """520 generation prompts, every one a held-out combination, each with its own sampling seed."""
    rng = np.random.default_rng(seed)
    bgs = list(BACKGROUNDS)
    specs: list[PromptSpec] = []

    def bg(p: float = 0.6) -> str | None:
        return str(rng.choice(bgs)) if rng.random() < p else None

    for _ in range(160):  # single held-out objects, with and without size and position
        colour, shape = _held_kind(rng)
        size = str(rng.choice(SIZES)) if rng.random() < 0.4 else None
        cell = int(rng.integers(9)) if rng.random() < 0.75 else None
        specs.append(PromptSpec("single", (ObjectSpec(colour, shape, size, cell),), background=bg()))
    for _ in range(100):  # counts of held-out objects
        specs.append(PromptSpec("count", (_obj(_held_kind(rng)),), count=int(rng.integers(2, 5)), background=bg()))
    for _ in range(100):  # relations with a held-out object on one side
        held = _held_kind(rng)
        pair = (_obj(held), _obj(_other_kind(rng, held)))
        if rng.random() < 0.5:
            pair = pair[::-1]
        specs.append(PromptSpec("relation", pair, relation=str(rng.choice(list(RELATIONS))), background=bg()))
    for _ in range(80):  # "below" between a circle and a square
        shapes = ["circle", "square"]
        rng.shuffle(shapes)
        a = ObjectSpec(str(rng.choice([c for c in COLOURS if c != "orange"])), shapes[0])
        b = ObjectSpec(str(rng.choice(list(COLOURS))), shapes[1])
        specs.append(PromptSpec("relation", (a, b), relation="below", background=bg()))
    for _ in range(80):  # four of a kind on a sky background
        kind = _other_kind(rng, ("", ""))
        specs.append(PromptSpec("count", (_obj(kind),), count=4, background="sky"))
    assert all(prompt_held_out(s) for s in specs)
    return [PromptCase(s, seed + i) for i, s in enumerate(specs)]


def eval_edits(seed: int = EVAL_SEED) -> list[EditCase]:
    """300 edits: 100 recolours to cyan and 200 edits that make, touch or keep a held-out object."""
    rng = np.random.default_rng(seed + 1)
    cases: list[tuple[Scene, EditSpec]] = []
    while len(cases) < 100:
        source = random_scene(rng)
        if scene_held_out(source):
            continue
        target = source.objects[int(rng.integers(len(source.objects)))]
        if target.colour == "cyan" or source.of_kind(target.colour, target.shape) != [target]:
            continue
        colour = None if len(source.of_kind(None, target.shape)) == 1 and rng.random() < 0.5 else target.colour
        cases.append((source, EditSpec("recolour", shape=target.shape, colour=colour, new_colour="cyan")))
    while len(cases) < 300:
        source = random_scene(rng, max_objects=2)
        if scene_held_out(source):
            continue
        held = _held_kind(rng)
        if rng.random() < 0.3 and source.free_cells:  # add a held-out object
            cell = int(rng.choice(source.free_cells)) if rng.random() < 0.7 else None
            cases.append((source, EditSpec("add", shape=held[1], colour=held[0], cell=cell)))
            continue
        # Put a held-out object into the source, then edit the scene (that object or another).
        if not source.free_cells:
            continue
        placed = Obj(int(rng.choice(source.free_cells)), held[1], held[0], str(rng.choice(SIZES)))
        source = source.replace(None, placed)
        edit = random_edit(source, rng)
        if edit.kind == "recolour" and edit.new_colour == "cyan":
            continue
        cases.append((source, edit))
    for source, edit in cases:
        apply_edit(source, edit, np.random.default_rng(0))  # every case must apply
    return [EditCase(src, e, seed + 1000 + i) for i, (src, e) in enumerate(cases)]


def training_prompt_spec(rng: np.random.Generator) -> PromptSpec:
    while True:
        spec = random_prompt_spec(rng)
        if not prompt_held_out(spec):
            return spec


def training_scene(spec: PromptSpec, rng: np.random.Generator, layout: str = "any") -> Scene:
    while True:
        scene = scene_for(spec, rng, layout)
        if not scene_held_out(scene):
            return scene


def training_edit_example(rng: np.random.Generator) -> tuple[Scene, EditSpec, Scene]:
    """(source, edit, target) as sampling.random_edit_example draws it, redrawn until nothing is held out."""
    while True:
        source, edit, target = random_edit_example(rng)
        if not example_held_out(edit, source, target):
            return source, edit, target


def seen_prompts(seed: int, n: int = 520) -> list[PromptCase]:
    """`n` generation prompts drawn as training draws them: no held-out combination in any of them.

    Scored beside the held-out set, they tell a model that has not learnt a task at all from one that
    has learnt it but does not carry it over to the held-out combinations."""
    rng = np.random.default_rng(seed)
    return [PromptCase(training_prompt_spec(rng), seed + i) for i in range(n)]


def seen_edits(seed: int, n: int = 300) -> list[EditCase]:
    """`n` edits drawn as training draws them (training_edit_example)."""
    rng = np.random.default_rng(seed + 1)
    return [EditCase(*training_edit_example(rng)[:2], seed + 1000 + i) for i in range(n)]
