from __future__ import annotations

import numpy as np
import pytest

from plantain.mini.edits import EditError, EditSpec, apply_edit, edit_text, parse_edit
from plantain.mini.grammar import ObjectSpec, PromptSpec, normalise, parse_prompt, prompt_text
from plantain.mini.heldout import (
    eval_edits,
    eval_prompts,
    example_held_out,
    prompt_held_out,
    scene_held_out,
    seen_edits,
    seen_prompts,
    training_prompt_spec,
)
from plantain.mini.sampling import random_edit_example, random_prompt_spec, scene_for
from plantain.mini.world import Obj, Scene


def test_prompt_round_trip_over_random_specs() -> None:
    rng = np.random.default_rng(1)
    for _ in range(3000):
        spec = random_prompt_spec(rng)
        assert parse_prompt(prompt_text(spec)) == spec


def test_edit_round_trip_over_random_edits() -> None:
    rng = np.random.default_rng(2)
    for _ in range(3000):
        _, edit, _ = random_edit_example(rng)
        assert parse_edit(edit_text(edit)) == edit


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a red circle", PromptSpec("single", (ObjectSpec("red", "circle"),))),
        (
            "  One LARGE blue  square in the top left on a sky background. ",
            PromptSpec(
                "single", (ObjectSpec("blue", "square", "large", 0),), background="sky", article="one", preposition="in"
            ),
        ),
        ("an orange diamond at the bottom right", PromptSpec("single", (ObjectSpec("orange", "diamond", None, 8),))),
        ("three green squares", PromptSpec("count", (ObjectSpec("green", "square"),), count=3)),
        (
            "a red circle to the left of a blue square on a white background",
            PromptSpec(
                "relation",
                (ObjectSpec("red", "circle"), ObjectSpec("blue", "square")),
                relation="left_of",
                background="white",
            ),
        ),
    ],
)
def test_parse_prompt_forms(text: str, expected: PromptSpec) -> None:
    assert parse_prompt(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "a photo of a cat",
        "five red circles",
        "a red circle to the left of a red circle",
        "a red hexagon",
        "a red circle at the middle",
        "two red circle",
    ],
)
def test_out_of_world_prompts_parse_to_none(text: str) -> None:
    assert parse_prompt(text) is None


def test_parse_edit_forms() -> None:
    assert parse_edit("make the circle blue") == EditSpec("recolour", "circle", None, new_colour="blue")
    assert parse_edit("Make the red circle blue.") == EditSpec("recolour", "circle", "red", new_colour="blue")
    assert parse_edit("add a green square at the top") == EditSpec("add", "square", "green", cell=1)
    assert parse_edit("add a green square") == EditSpec("add", "square", "green")
    assert parse_edit("remove the triangle") == EditSpec("remove", "triangle")
    assert parse_edit("move the pink diamond to the center") == EditSpec("move", "diamond", "pink", cell=4)
    assert parse_edit("change the background to beige") == EditSpec("background", background="beige")
    assert parse_edit("make it pop") is None


def test_normalise() -> None:
    assert normalise("  An ORANGE   circle. ") == "a orange circle"


def test_apply_edit() -> None:
    scene = Scene("white", (Obj(3, "circle", "red", "small"), Obj(5, "square", "green", "large")))
    recoloured = apply_edit(scene, parse_edit("make the circle blue"))  # type: ignore[arg-type]
    assert recoloured == Scene("white", (Obj(3, "circle", "blue", "small"), Obj(5, "square", "green", "large")))
    moved = apply_edit(scene, parse_edit("move the square to the top"))  # type: ignore[arg-type]
    assert Obj(1, "square", "green", "large") in moved.objects
    assert apply_edit(scene, parse_edit("remove the red circle")).objects == (  # type: ignore[arg-type]
        Obj(5, "square", "green", "large"),
    )
    assert apply_edit(scene, parse_edit("change the background to sky")).background == "sky"  # type: ignore[arg-type]
    with pytest.raises(EditError):
        apply_edit(scene, parse_edit("remove the triangle"))  # type: ignore[arg-type]
    with pytest.raises(EditError):
        apply_edit(scene, parse_edit("move the circle to the right"))  # type: ignore[arg-type]


def test_scenes_satisfy_their_prompts() -> None:
    rng = np.random.default_rng(3)
    for _ in range(500):
        spec = random_prompt_spec(rng)
        scene = scene_for(spec, rng)
        kinds = [o.kind for o in scene.objects]
        for o in spec.objects:
            assert o.kind in kinds
        if spec.background:
            assert scene.background == spec.background


def test_training_never_draws_held_out_and_eval_is_only_held_out() -> None:
    rng = np.random.default_rng(4)
    for _ in range(5000):
        assert not prompt_held_out(training_prompt_spec(rng))
    prompts, edits = eval_prompts(), eval_edits()
    assert len(prompts) >= 500 and len(edits) >= 300
    assert all(prompt_held_out(c.spec) for c in prompts)
    assert eval_prompts() == prompts and eval_edits() == edits  # fixed, seeded
    assert scene_held_out(Scene("white", (Obj(0, "triangle", "purple", "small"),)))


def test_the_seen_split_holds_no_held_out_case_and_every_edit_applies() -> None:
    prompts, edits = seen_prompts(11), seen_edits(11)
    assert len(prompts) == 520 and len(edits) == 300
    assert not any(prompt_held_out(c.spec) for c in prompts)
    for case in edits:
        target = apply_edit(case.source, case.edit, np.random.default_rng(0))
        assert not example_held_out(case.edit, case.source, target)
    assert {c.edit.kind for c in edits} == {"recolour", "add", "remove", "move", "background"}
    assert seen_prompts(11) == prompts and seen_edits(11) == edits  # fixed, seeded
    assert seen_edits(12) != edits
