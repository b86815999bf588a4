"""Score images against the prompts and edits that asked for them, with the world's detector.

Prompt metrics (None where a prompt does not ask for that thing):
- colour_shape: every named object is present with its colour and shape;
- count: the number of objects of each named kind is the number asked for;
- position: the named grid cell holds the object, or the named relation holds between centroids;
- size, background: as named;
- whole: all of the above at once, and nothing else in the image (no extra or unrecognisable object).
An edit is correct when the scene read back equals the source scene with the named change made.
"""

from __future__ import annotations

from collections import Counter

from PIL import Image

from plantain.mini.detect import read_scene
from plantain.mini.edits import EditSpec, apply_edit
from plantain.mini.grammar import PromptSpec
from plantain.mini.world import Scene, relation_holds

PROMPT_METRICS = ("colour_shape", "count", "position", "size", "background", "whole")


def score_prompt(spec: PromptSpec, image: Image.Image) -> dict[str, bool | None]:
    scene, unrecognised = read_scene(image)
    kinds = Counter(o.kind for o in scene.objects)
    wanted = Counter({o.kind: (spec.count if spec.kind == "count" else 1) for o in spec.objects})
    result: dict[str, bool | None] = {
        "colour_shape": all(kinds[k] >= 1 for k in wanted),
        "count": all(kinds[k] == n for k, n in wanted.items()),
        "position": None,
        "size": None,
        "background": scene.background == spec.background if spec.background else None,
    }
    if spec.kind == "single":
        (o,) = spec.objects
        matches = scene.of_kind(o.colour, o.shape)
        if o.cell is not None:
            result["position"] = any(m.cell == o.cell for m in matches)
        if o.size is not None:
            result["size"] = len(matches) == 1 and matches[0].size == o.size
    elif spec.kind == "relation":
        assert spec.relation is not None
        a, b = spec.objects
        result["position"] = any(
            relation_holds(spec.relation, x.cell, y.cell)
            for x in scene.of_kind(a.colour, a.shape)
            for y in scene.of_kind(b.colour, b.shape)
        )
    nothing_else = unrecognised == 0 and sum(kinds.values()) == sum(wanted.values())
    result["whole"] = nothing_else and all(v for v in result.values() if v is not None)
    return result


# Why an edit failed, in the order edit_failure checks: an unreadable blob, the picture left as it
# was (the instruction ignored rather than carried out wrongly), the wrong background, objects gained
# or lost, the right number of objects of the wrong colours or shapes, or the right objects in the
# wrong cells or sizes.
EDIT_FAILURES = ("unrecognised", "unchanged", "background", "object count", "objects", "placement")


def score_edit(source: Scene, edit: EditSpec, image: Image.Image) -> bool:
    return edit_failure(source, edit, image) is None


def edit_failure(source: Scene, edit: EditSpec, image: Image.Image) -> str | None:
    """None when the edit is correct, otherwise the first of EDIT_FAILURES that went wrong."""
    scene, unrecognised = read_scene(image)
    if unrecognised:
        return "unrecognised"
    if edit.kind == "add":
        # Where an add names no cell any free cell is right, so there is no one intended scene.
        background = source.background
        kinds = Counter(o.kind for o in source.objects) + Counter([(edit.colour, edit.shape)])
    else:
        want = apply_edit(source, edit)
        if scene == want:
            return None
        background, kinds = want.background, Counter(o.kind for o in want.objects)
    # Checked after correctness: an instruction whose change is a no-op ("move" to the object's own
    # cell) is right when nothing changes.
    if scene == source:
        return "unchanged"
    if scene.background != background:
        return "background"
    if len(scene.objects) != kinds.total():
        return "object count"
    if Counter(o.kind for o in scene.objects) != kinds:
        return "objects"
    if edit.kind == "add":
        remaining = list(scene.objects)
        for o in source.objects:
            if o not in remaining:
                return "placement"
            remaining.remove(o)
        (new,) = remaining
        return None if edit.cell is None or new.cell == edit.cell else "placement"
    return "placement"
