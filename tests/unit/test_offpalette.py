"""Off-palette repainting of the objects an edit leaves unnamed (plantain.mini.offpalette)."""

from __future__ import annotations

import numpy as np
import pytest

from plantain.mini.detect import MAX_COLOUR_DISTANCE, PALETTE, read_scene
from plantain.mini.edits import EditSpec
from plantain.mini.offpalette import off_palette_colour, repaint_unnamed
from plantain.mini.render import render, shape_mask
from plantain.mini.sampling import random_edit_example
from plantain.mini.world import COLOURS, Obj, Scene
from tests.unit.pixels import colours_at


def test_off_palette_colours_are_no_colour_of_the_world() -> None:
    rng = np.random.default_rng(0)
    world = PALETTE.astype(float)  # the detector's own: every world colour and background
    colours = np.array([off_palette_colour(rng) for _ in range(500)], dtype=float)
    assert np.linalg.norm(colours[:, None] - world[None], axis=-1).min() >= MAX_COLOUR_DISTANCE
    assert len({tuple(c) for c in colours}) > 400  # spread over the cube, not a few fixed colours


def test_the_detector_recognises_no_repainted_object() -> None:
    scene = Scene("white", (Obj(0, "circle", "red", "large"), Obj(8, "square", "blue", "large")))
    src, tgt = render(scene), render(scene)
    repaint_unnamed(scene, EditSpec("background", background="gray"), scene, src, tgt, np.random.default_rng(1), 1.0)
    # Its pixels are no world colour at all, so they read as neither an object nor the background.
    assert read_scene(src) == (Scene("white", ()), 0)
    assert read_scene(render(scene))[0] == scene


@pytest.mark.parametrize("seed", range(300))
def test_named_objects_keep_their_colour_and_unnamed_ones_carry_theirs_into_the_target(seed: int) -> None:
    rng = np.random.default_rng(seed)
    source, edit, target = random_edit_example(rng)
    src, tgt = render(source), render(target)
    plain_src, plain_tgt = src.copy(), tgt.copy()
    repaint_unnamed(source, edit, target, src, tgt, rng, 0.7)
    for obj in source.objects:
        new = colours_at(src, obj)
        assert len(new) == 1
        if edit.colour is not None and (obj.colour, obj.shape) == (edit.colour, edit.shape):
            assert new == {COLOURS[obj.colour]}  # the instruction names it: never repainted
        if obj in target.objects:
            assert colours_at(tgt, obj) == new
        elif edit.kind == "move":
            assert edit.cell is not None
            assert colours_at(tgt, Obj(edit.cell, obj.shape, obj.colour, obj.size)) == new
    # what the edit itself changes is drawn exactly as without repainting
    for obj in set(target.objects) - set(source.objects):
        if edit.kind != "move":
            assert (
                tgt[shape_mask(obj.shape, obj.size, obj.cell, 32)]
                == plain_tgt[shape_mask(obj.shape, obj.size, obj.cell, 32)]
            ).all()
    background = ~np.any([shape_mask(o.shape, o.size, o.cell, 32) for o in source.objects], axis=0)
    assert (src[background] == plain_src[background]).all()


def test_nothing_is_repainted_at_probability_zero() -> None:
    rng = np.random.default_rng(3)
    source, edit, target = random_edit_example(rng)
    src, tgt = render(source), render(target)
    state = rng.bit_generator.state
    repaint_unnamed(source, edit, target, src, tgt, rng, 0.0)
    assert (src == render(source)).all() and (tgt == render(target)).all()
    assert rng.bit_generator.state == state  # and draws nothing, so the data stream is as without it
