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
    # the source left as it was: each kind of edit fails in its own way
    unchanged = {
        "recolour": "objects",
        "background": "background",
        "move": "placement",
        "add": "object count",
        "remove": "object count",
    }
    rng = np.random.default_rng(5)
    seen: set[tuple[str, str]] = set()
    for case in eval_edits()[::5]:
        want = apply_edit(case.source, case.edit, rng)
        assert edit_failure(case.source, case.edit, render_image(want)) is None
        failure = edit_failure(case.source, case.edit, render_image(case.source))
        assert failure == unchanged[case.edit.kind], (case.edit, failure)
        seen.add((case.edit.kind, failure))
        if want.objects and want.free_cells:
            extra = want.replace(None, Obj(want.free_cells[0], "circle", "red", "large"))
            assert edit_failure(case.source, case.edit, render_image(extra)) == "object count"
    assert {kind for kind, _ in seen} == {"recolour", "background", "move", "add", "remove"}
    assert set(EDIT_FAILURES) >= {failure for _, failure in seen}
