"""The built-in text backend: it writes what it can know without a language model.

Under an image it says what the model's family reads back from it (the mini model's detector reads
the scene it drew), so the text says what was made, not what was asked; where the family cannot
read its images, it restates the prompt. Asked to think first, it shows the family's reading of the
prompt. It does not chat, rewrite prompts or plan storyboards; an OpenAI-compatible backend does.
"""

from __future__ import annotations

from PIL import Image

from plantain.text.base import Message, Panel, PromptPlan


class BuiltinText:
    name = "builtin"

    def caption(self, prompt: str, image: Image.Image, reading: str | None) -> str:
        return reading if reading is not None else f"Here is the image for: {prompt.strip()}"

    def reply(self, messages: list[Message], reading: str | None) -> str:
        if reading is not None:
            return reading
        return (
            "The built-in text backend only describes images. Set PLANTAIN_TEXT_URL to an "
            "OpenAI-compatible chat server for open-ended text."
        )

    def plan(self, prompt: str, reading: str | None) -> PromptPlan:
        # Without a language model there is no world knowledge to add: the plan is what the family
        # reads in the prompt, and the image is drawn from the prompt as it came.
        return PromptPlan(reading or f"I am going to draw: {prompt.strip()}", prompt)

    def plan_panels(self, prompt: str, count: int) -> list[Panel] | None:
        return None
