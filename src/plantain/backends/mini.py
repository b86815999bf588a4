"""The built-in mini model's backend: the diffusers backend with the mini pipeline's loader, and the
words of its world (what a prompt would draw, what an image shows).

This is the only module outside `plantain.mini` that imports it: the service stands on the backend
contract, and the mini world is one family behind it.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from plantain.backends.base import PromptReading, StepHook
from plantain.backends.diffusers_backend import DiffusersBackend, made_fast, prepare_torch
from plantain.core.catalog import ModelEntry
from plantain.core.jobs import ImageJob
from plantain.core.settings import Settings
from plantain.mini.detect import read_scene
from plantain.mini.edits import edit_text, is_edit_instruction, parse_edit
from plantain.mini.grammar import PromptSpec, describe_scene, normalise, parse_prompt
from plantain.mini.sampling import scene_for
from plantain.mini.world import POSITIONS, RELATIONS

BUILTIN_MINI = "builtin:mini"


class MiniBackend(DiffusersBackend):
    @classmethod
    def load_pipe(cls, entry: ModelEntry, settings: Settings) -> Any:
        from plantain.mini.pipeline import load_mini_pipeline

        device, _ = prepare_torch(settings)
        folder = None if entry.checkpoint == BUILTIN_MINI else Path(entry.checkpoint)
        return made_fast(load_mini_pipeline(folder or settings.mini_weights), device, entry.speed)

    @classmethod
    def read_prompt(cls, prompt: str) -> PromptReading:
        description = None
        spec = parse_prompt(prompt)
        edit = parse_edit(prompt)
        if spec is not None:
            plan = f"Reading the prompt in my world's grammar: {spec_plan(spec)}."
        elif edit is not None:
            plan = f"An edit instruction in my world's grammar: {edit.kind} ({edit_text(edit)})."
        else:
            plan = (
                f'"{prompt.strip()}" is outside my world\'s grammar (flat shapes, colours, counts and places '
                "on a 3x3 grid); I will draw what its nearest words mean to me."
            )
        if spec is not None:
            # The layout the prompt leaves open is drawn at random when the image is made; the
            # description fixes one, from the prompt's own text so it is the same every time.
            scene = scene_for(spec, np.random.default_rng(zlib.crc32(normalise(prompt).encode())))
            description = f"I would draw {normalise(prompt)}. For example: {describe_scene(scene)}"
        elif edit is not None:
            description = "That is an edit: send it with the image to change, and ask for an image back."
        return PromptReading(needs_image=is_edit_instruction(prompt), description=description, plan=plan)

    def render(self, jobs: Sequence[ImageJob], on_step: StepHook | None = None) -> list[Image.Image]:
        # An image to edit that was served at another aspect ratio holds the world's square in its
        # centre: edit that square, not the whole picture squeezed into one.
        squared = [replace(job, images=[square_centre(im) for im in job.images]) for job in jobs]
        return super().render(squared, on_step)

    @classmethod
    def describe(cls, image: Image.Image) -> str | None:
        scene, unrecognised = read_scene(square_centre(image))
        extra = " Some of it is outside the world I know." if unrecognised else ""
        return describe_scene(scene) + extra


def spec_plan(spec: PromptSpec) -> str:
    """What a parsed prompt fixes and what it leaves to chance, in words."""
    bg = f"a {spec.background} background" if spec.background else "a background of my choosing"
    if spec.kind == "count":
        (o,) = spec.objects
        return f"{spec.count} {o.colour} {o.shape}s, each of a size and place of my choosing, on {bg}"
    if spec.kind == "relation":
        a, b = spec.objects
        assert spec.relation is not None
        return f"a {a.colour} {a.shape} {RELATIONS[spec.relation]} a {b.colour} {b.shape}, on {bg}"
    (o,) = spec.objects
    size = f"{o.size} " if o.size else ""
    where = f"at the {POSITIONS[o.cell]}" if o.cell is not None else "in a place of my choosing"
    return f"one {size}{o.colour} {o.shape} {where}, on {bg}"


def square_centre(image: Image.Image) -> Image.Image:
    """The square the world was drawn in. Served at another aspect ratio, a mini image is the square
    scaled to fit and centred, the rest filled with its background (imaging.encode.upscale); read or
    edited whole, the band would squeeze the scene out of its grid."""
    w, h = image.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    return image.crop((left, top, left + side, top + side)) if (w, h) != (side, side) else image
