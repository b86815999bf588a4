"""Colours of training examples renamed to colour words outside the world (plantain.mini.extracolours)."""

from __future__ import annotations

import numpy as np
import pytest

from plantain.mini.detect import MAX_COLOUR_DISTANCE, PALETTE, read_scene
from plantain.mini.edits import EditSpec, apply_edit, edit_text
from plantain.mini.extracolours import (
    EXTRA_COLOURS,
    RENAMABLE,
    named_colours,
    rename_example,
    rename_word,
    renamed_texts,
)
from plantain.mini.heldout import edit_held_out, training_edit_example
from plantain.mini.render import render, shape_mask
from plantain.mini.train import all_edit_instructions
from plantain.mini.world import BACKGROUNDS, COLOURS, Obj, Scene
from tests.unit.pixels import colours_at


def test_extra_colours_are_no_colour_of_the_world_and_none_is_near_cyan() -> None:
    world = PALETTE.astype(float)  # the detector's own: every world colour and background
    extra = np.array(list(EXTRA_COLOURS.values()), dtype=float)
    assert np.linalg.norm(extra[:, None] - world[None], axis=-1).min() >= MAX_COLOUR_DISTANCE
    assert np.linalg.norm(extra - np.array(COLOURS["cyan"]), axis=-1).min() > 2 * MAX_COLOUR_DISTANCE
    assert not set(EXTRA_COLOURS) & {*COLOURS, *BACKGROUNDS, "teal", "turquoise", "aqua", "azure"}
    assert "cyan" not in RENAMABLE and len(RENAMABLE) == len(COLOURS) - 1


def test_renaming_replaces_whole_words_only() -> None:
    assert rename_word("make the red square blue", "red", "navy") == "make the navy square blue"
    assert rename_word("a reddish red circle", "red", "lime") == "a reddish lime circle"
    assert named_colours("make the cyan square blue") == ["blue"]  # cyan is never renamed
    assert named_colours("change the background to sky") == []


def test_every_renamed_instruction_is_outside_the_held_out_rules_and_names_an_extra_colour() -> None:
    instructions = all_edit_instructions()
    renamed = {v for t in instructions for v in renamed_texts(t)}
    assert renamed and not renamed & set(instructions)
    for text in renamed:
        assert any(e in text.split(" ") for e in EXTRA_COLOURS), text
        assert not text.endswith(" cyan") or not text.startswith("make the "), text  # no recolour to cyan
    # Recolour targets now span the seven trained world colours and every extra colour.
    targets = {t.split(" ")[-1] for t in {*instructions, *renamed} if t.startswith("make the ")}
    assert targets == (set(COLOURS) - {"cyan"}) | set(EXTRA_COLOURS)
    assert edit_held_out(EditSpec("recolour", "square", new_colour="cyan"))  # the rule itself stands


@pytest.mark.parametrize("seed", range(200))
def test_a_renamed_example_is_the_same_edit_with_one_colour_repainted_everywhere(seed: int) -> None:
    rng = np.random.default_rng(seed)
    source, edit, target = training_edit_example(rng)
    text = edit_text(edit)
    src, tgt = render(source), render(target)
    renamed = rename_example(text, [(source, src), (target, tgt)], rng, 1.0)
    changed = [(a, b) for a, b in zip(text.split(" "), renamed.split(" "), strict=True) if a != b]
    olds = {a for a, _ in changed}
    news = {b for _, b in changed}
    assert len(olds) <= 1 and len(news) <= 1 and news <= set(EXTRA_COLOURS)
    if not changed:  # the text names no renamable colour: an object's colour was renamed instead
        assert named_colours(text) == []
    for scene, image in ((source, src), (target, tgt)):
        repainted = [o for o in scene.objects if colours_at(image, o) != {COLOURS[o.colour]}]
        assert len({o.colour for o in repainted}) <= 1  # one colour, all of its objects
        for o in repainted:
            assert colours_at(image, o) <= set(EXTRA_COLOURS.values())
            assert not olds or o.colour in olds
            assert all(colours_at(image, p) != {COLOURS[p.colour]} for p in scene.objects if p.colour == o.colour)
        background = ~np.any([shape_mask(o.shape, o.size, o.cell, 32) for o in scene.objects], axis=0)
        assert (image[background] == BACKGROUNDS[scene.background]).all()
    assert renamed in {text, *renamed_texts(text)}  # the training text bank holds it


def test_a_renamed_recolour_paints_the_extra_colour_the_instruction_now_names() -> None:
    source = Scene("white", (Obj(0, "square", "red", "large"), Obj(8, "circle", "blue", "small")))
    edit = EditSpec("recolour", "square", "red", new_colour="green")
    target = apply_edit(source, edit)
    src, tgt = render(source), render(target)
    # Draw until the renaming falls on the target colour (green): the square must come out that colour.
    for seed in range(50):
        s, t = src.copy(), tgt.copy()
        text = rename_example(edit_text(edit), [(source, s), (target, t)], np.random.default_rng(seed), 1.0)
        new = text.split(" ")[-1]
        if new in EXTRA_COLOURS:
            assert colours_at(t, Obj(0, "square", "green", "large")) == {EXTRA_COLOURS[new]}
            assert (s == src).all()  # the source has no green object: unchanged
            assert read_scene(t)[0] == Scene("white", (Obj(8, "circle", "blue", "small"),))  # unread, as off-palette
            return
    pytest.fail("no seed of 50 renamed the target colour")


def test_nothing_is_renamed_at_probability_zero() -> None:
    rng = np.random.default_rng(3)
    source, edit, target = training_edit_example(rng)
    src, tgt = render(source), render(target)
    state = rng.bit_generator.state
    assert rename_example(edit_text(edit), [(source, src), (target, tgt)], rng, 0.0) == edit_text(edit)
    assert (src == render(source)).all() and (tgt == render(target)).all()
    assert rng.bit_generator.state == state  # and draws nothing, so the data stream is as without it
