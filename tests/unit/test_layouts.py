"""Training layouts: every one draws scenes that satisfy their prompts; the fixed ones are as documented."""

from __future__ import annotations

import numpy as np
import pytest

from plantain.mini.grammar import ObjectSpec, PromptSpec
from plantain.mini.heldout import training_prompt_spec
from plantain.mini.render import render_image
from plantain.mini.sampling import LAYOUTS, scene_for
from plantain.mini.score import score_prompt
from plantain.mini.world import RELATIONS, cell_row_col

RED_CIRCLE, BLUE_SQUARE = ObjectSpec("red", "circle"), ObjectSpec("blue", "square")


@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_layout_draws_what_the_prompt_asks(layout: str) -> None:
    rng = np.random.default_rng(11)
    for _ in range(400):
        spec = training_prompt_spec(rng)
        scores = score_prompt(spec, render_image(scene_for(spec, rng, layout)))
        assert scores["whole"], (layout, spec)


def cells_of(spec: PromptSpec, layout: str, draws: int = 200) -> set[tuple[int, ...]]:
    rng = np.random.default_rng(12)
    found = set()
    for _ in range(draws):
        scene = scene_for(spec, rng, layout)
        if spec.kind == "relation":
            a, b = spec.objects
            found.add((scene.of_kind(a.colour, a.shape)[0].cell, scene.of_kind(b.colour, b.shape)[0].cell))
        else:
            found.add(tuple(o.cell for o in scene.objects))
    return found


@pytest.mark.parametrize("relation", RELATIONS)
def test_anchored_puts_the_first_object_in_the_centre(relation: str) -> None:
    spec = PromptSpec("relation", (RED_CIRCLE, BLUE_SQUARE), relation=relation)
    ((a, b),) = cells_of(spec, "anchored")
    assert a == 4
    (ra, ca), (rb, cb) = cell_row_col(a), cell_row_col(b)
    assert abs(ra - rb) + abs(ca - cb) == 1  # B is A's neighbour, on the named side


def test_lines_keep_a_relation_in_one_row_or_column_and_still_vary() -> None:
    left = cells_of(PromptSpec("relation", (RED_CIRCLE, BLUE_SQUARE), relation="left_of"), "lines")
    assert left == {(0, 2), (3, 5), (6, 8)}
    above = cells_of(PromptSpec("relation", (RED_CIRCLE, BLUE_SQUARE), relation="above"), "lines")
    assert above == {(0, 6), (1, 7), (2, 8)}
    assert len(cells_of(PromptSpec("count", (RED_CIRCLE,), count=3), "lines")) == 6  # 3 rows + 3 columns


def test_any_draws_every_valid_arrangement() -> None:
    left = cells_of(PromptSpec("relation", (RED_CIRCLE, BLUE_SQUARE), relation="left_of"), "any", draws=2000)
    assert len(left) == 27  # 9 cells for A x the 3 cells of each column to its right, over all rows
    assert len(cells_of(PromptSpec("single", (RED_CIRCLE,)), "any")) == 9


@pytest.mark.parametrize("layout", ["canonical", "anchored"])
def test_fixed_layouts_fix_the_cells_and_leave_size_and_background_open(layout: str) -> None:
    spec = PromptSpec("count", (RED_CIRCLE,), count=4)
    assert cells_of(spec, layout) == {(0, 2, 6, 8)}
    rng = np.random.default_rng(13)
    scenes = {scene_for(spec, rng, layout) for _ in range(50)}
    assert len({s.background for s in scenes}) == 5
    assert len({o.size for s in scenes for o in s.objects}) == 2


def test_an_unknown_layout_is_refused() -> None:
    with pytest.raises(ValueError, match="layout must be one of any, lines, canonical, anchored, not 'anchord'"):
        scene_for(PromptSpec("count", (RED_CIRCLE,), count=2), np.random.default_rng(0), "anchord")
