from __future__ import annotations

import numpy as np
from PIL import Image

from plantain.imaging.encode import upscale
from plantain.mini.detect import detect
from plantain.mini.edits import apply_edit
from plantain.mini.heldout import eval_edits, eval_prompts
from plantain.mini.render import render, render_image
from plantain.mini.sampling import random_scene, scene_for
from plantain.mini.score import EDIT_FAILURES, edit_failure, score_edit, score_prompt
from plantain.mini.world import BACKGROUNDS, COLOURS, Obj, Scene


def test_detect_reads_back_rendered_scenes() -> None:
    rng = np.random.default_rng(0)
    scenes = [random_scene(rng, max_objects=int(rng.integers(1, 7))) for _ in range(1000)]
    correct = sum(detect(render(s)) == s for s in scenes)
    assert correct / len(scenes) >= 0.99


def test_detect_reads_served_size_and_tolerates_noise() -> None:
    rng = np.random.default_rng(1)
    hits = 0
    for _ in range(200):
        scene = random_scene(rng)
        served = upscale(render_image(scene), (1024, 1024))
        assert detect(served) == scene
        noisy = np.clip(render(scene).astype(np.float32) + rng.normal(0, 12, (32, 32, 3)), 0, 255)
        hits += detect(noisy.astype(np.uint8)) == scene
    assert hits >= 190


def test_render_draws_the_world_colours() -> None:
    scene = Scene("sky", (Obj(4, "square", "red", "large"),))
    pixels = render(scene)
    assert tuple(pixels[0, 0]) == BACKGROUNDS["sky"]
    assert tuple(pixels[16, 16]) == COLOURS["red"]
    # Large objects stay inside their cell: a gap separates neighbours.
    full = Scene("white", tuple(Obj(c, "square", "red", "large") for c in range(9)))
    assert len(detect(render(full)).objects) == 9


def test_scoring_accepts_renders_and_rejects_wrong_images() -> None:
    rng = np.random.default_rng(2)
    for case in eval_prompts()[::10]:
        good = render_image(scene_for(case.spec, rng))
        assert score_prompt(case.spec, good)["whole"]
        blank = Image.new("RGB", (32, 32), BACKGROUNDS["white"])
        assert not score_prompt(case.spec, blank)["whole"]
    for case in eval_edits()[::10]:
        assert not score_edit(case.source, case.edit, render_image(case.source))


def test_edit_failure_names_how_an_edit_went_wrong() -> None:
    rng = np.random.default_rng(5)
    seen: set[str] = set()
    kinds: set[str] = set()
    for case in eval_edits()[::5]:
        want = apply_edit(case.source, case.edit, rng)
        kinds.add(case.edit.kind)
        assert edit_failure(case.source, case.edit, render_image(want)) is None
        # the source left as it was is an ignored instruction, whatever the edit
        assert edit_failure(case.source, case.edit, render_image(case.source)) == "unchanged"
        wrong: list[tuple[Scene, str]] = []
        if want.objects and want.free_cells:
            wrong.append((want.replace(None, Obj(want.free_cells[0], "circle", "red", "large")), "object count"))
        if case.edit.kind == "background":
            other = next(b for b in BACKGROUNDS if b not in (case.source.background, want.background))
            wrong.append((want.replace(None, None, background=other), "background"))
        if case.edit.kind in ("recolour", "move"):
            (new,) = [o for o in want.objects if o not in case.source.objects]
            colour = "red" if new.colour != "red" else "green"
            wrong.append((want.replace(new, Obj(new.cell, new.shape, colour, new.size)), "objects"))
            if want.free_cells:
                wrong.append((want.replace(new, Obj(want.free_cells[0], new.shape, new.colour, new.size)), "placement"))
        for scene, failure in wrong:
            if scene != case.source:
                assert edit_failure(case.source, case.edit, render_image(scene)) == failure, (case.edit, failure)
                seen.add(failure)
    assert kinds == {"recolour", "background", "move", "add", "remove"}
    assert seen | {"unchanged"} == set(EDIT_FAILURES) - {"unrecognised"}
