"""The prompt grammar of the mini world: prompt specs, their text, and parsing text back.

A `PromptSpec` is what a prompt asks for; it is a set of scenes, not one scene (a size or position
left out may be drawn any way). `prompt_text` and `parse_prompt` are inverse: parsing the text of a
spec gives the spec back. Surface choices ("a" or "one", "at" or "in") are part of the spec so
that round trip is exact.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from plantain.mini.world import BACKGROUNDS, COLOURS, NUMBERS, POSITIONS, RELATIONS, SHAPES, SIZES, Scene


@dataclass(frozen=True)
class ObjectSpec:
    colour: str
    shape: str
    size: str | None = None
    cell: int | None = None

    @property
    def kind(self) -> tuple[str, str]:
        return (self.colour, self.shape)


@dataclass(frozen=True)
class PromptSpec:
    """single: one object; count: `count` objects of one kind; relation: objects[0] REL objects[1]."""

    kind: str
    objects: tuple[ObjectSpec, ...]
    count: int = 1
    relation: str | None = None
    background: str | None = None
    article: str = "a"
    preposition: str = "at"


def normalise(text: str) -> str:
    """The form the grammar and the model read: lower case, single spaces, no trailing full stop,
    and "an" written "a" (the grammar's article), so "an orange circle." reads as "a orange circle"."""
    words = ["a" if w == "an" else w for w in text.lower().rstrip().rstrip(".").split()]
    return " ".join(words)


def _bg_suffix(spec: PromptSpec) -> str:
    return f" on a {spec.background} background" if spec.background else ""


def prompt_text(spec: PromptSpec) -> str:
    if spec.kind == "single":
        (o,) = spec.objects
        words = [spec.article]
        if o.size:
            words.append(o.size)
        words += [o.colour, o.shape]
        if o.cell is not None:
            words += [spec.preposition, "the", POSITIONS[o.cell]]
        return " ".join(words) + _bg_suffix(spec)
    if spec.kind == "count":
        (o,) = spec.objects
        return f"{NUMBERS[spec.count]} {o.colour} {o.shape}s" + _bg_suffix(spec)
    if spec.kind == "relation":
        a, b = spec.objects
        assert spec.relation is not None
        return f"a {a.colour} {a.shape} {RELATIONS[spec.relation]} a {b.colour} {b.shape}" + _bg_suffix(spec)
    raise ValueError(f"unknown prompt kind {spec.kind!r}")


def _alt(words: Iterable[object]) -> str:
    # Longest first so that "top left" wins over "top".
    return "|".join(sorted((re.escape(str(w)) for w in words), key=len, reverse=True))


_COLOUR = f"(?:{_alt(COLOURS)})"
_SHAPE = f"(?:{_alt(SHAPES)})"
_BG = rf"(?: on a (?P<bg>{_alt(BACKGROUNDS)}) background)?"
_SINGLE = re.compile(
    rf"^(?P<art>a|one)(?: (?P<size>{_alt(SIZES)}))? (?P<colour>{_COLOUR}) (?P<shape>{_SHAPE})"
    rf"(?: (?P<prep>at|in) the (?P<pos>{_alt(POSITIONS)}))?{_BG}$"
)
_COUNT = re.compile(
    rf"^(?P<num>{_alt(n for k, n in NUMBERS.items() if k > 1)}) (?P<colour>{_COLOUR}) "
    rf"(?P<shape>{_SHAPE})s{_BG}$"
)
_RELATION = re.compile(
    rf"^a (?P<ca>{_COLOUR}) (?P<sa>{_SHAPE}) (?P<rel>{_alt(RELATIONS.values())}) "
    rf"a (?P<cb>{_COLOUR}) (?P<sb>{_SHAPE}){_BG}$"
)
_REL_BY_TEXT = {v: k for k, v in RELATIONS.items()}
_NUM_BY_WORD = {v: k for k, v in NUMBERS.items()}


def parse_prompt(text: str) -> PromptSpec | None:
    """The spec a prompt asks for, or None when the prompt lies outside the world's grammar."""
    t = normalise(text)
    if m := _SINGLE.match(t):
        cell = POSITIONS.index(m["pos"]) if m["pos"] else None
        obj = ObjectSpec(m["colour"], m["shape"], m["size"], cell)
        return PromptSpec("single", (obj,), background=m["bg"], article=m["art"], preposition=m["prep"] or "at")
    if m := _COUNT.match(t):
        obj = ObjectSpec(m["colour"], m["shape"])
        return PromptSpec("count", (obj,), count=_NUM_BY_WORD[m["num"]], background=m["bg"])
    if m := _RELATION.match(t):
        a, b = ObjectSpec(m["ca"], m["sa"]), ObjectSpec(m["cb"], m["sb"])
        if a.kind == b.kind:
            return None  # a relation is between two objects of different kinds
        return PromptSpec("relation", (a, b), relation=_REL_BY_TEXT[m["rel"]], background=m["bg"])
    return None


def describe_scene(scene: Scene) -> str:
    """A sentence for a scene, as the built-in text backend writes under an image."""
    bg = f"on a {scene.background} background"
    things = [f"a {o.size} {o.colour} {o.shape} at the {POSITIONS[o.cell]}" for o in scene.objects]
    if not things:
        return f"An empty picture {bg}."
    if len(things) == 1:
        return f"{things[0][0].upper()}{things[0][1:]} {bg}."
    listed = ", ".join(things[:-1]) + f" and {things[-1]}"
    return f"{NUMBERS.get(len(things), str(len(things))).capitalize()} objects {bg}: {listed}."
