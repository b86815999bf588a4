"""The built-in text backend: it writes what it can know without a language model.

Under a mini-model image it describes the scene the detector reads back from the image, so the
text says what was made, not what was asked. Under other families' images it restates the prompt.
It does not chat and does not plan storyboards; an OpenAI-compatible backend does both.
"""

from __future__ import annotations

import zlib

import numpy as np
from PIL import Image

from plantain.mini.detect import read_scene
from plantain.mini.edits import parse_edit
from plantain.mini.grammar import describe_scene, normalise, parse_prompt
from plantain.mini.sampling import scene_for
from plantain.text.base import Message, Panel


class BuiltinText:
    name = "builtin"

    def caption(self, prompt: str, image: Image.Image, family: str) -> str:
        if family == "mini":
            scene, unrecognised = read_scene(image)
            extra = " Some of it is outside the world I know." if unrecognised else ""
            return describe_scene(scene) + extra
        return f"Here is the image for: {prompt.strip()}"

    def reply(self, messages: list[Message], family: str) -> str:
        last = next((m.text for m in reversed(messages) if m.role == "user" and m.text.strip()), "")
        if family == "mini":
            spec = parse_prompt(last)
            if spec is not None:
                # The layout the prompt leaves open is drawn at random when the image is made; the
                # description fixes one, from the prompt's own text so it is the same every time.
                scene = scene_for(spec, np.random.default_rng(zlib.crc32(normalise(last).encode())))
                return f"I would draw {normalise(last)}. For example: {describe_scene(scene)}"
            if parse_edit(last) is not None:
                return "That is an edit: send it with the image to change and IMAGE in responseModalities."
        return (
            "The built-in text backend only describes images. Set PLANTAIN_TEXT_URL to an "
            "OpenAI-compatible chat server for open-ended text."
        )

    def plan_panels(self, prompt: str, count: int, family: str) -> list[Panel] | None:
        return None
