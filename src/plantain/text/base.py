"""The text backend contract: every way of writing an answer's text implements it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from PIL import Image


class TextBackendError(RuntimeError):
    """The text backend could not answer (unreachable, bad reply)."""


@dataclass(frozen=True)
class Message:
    role: str  # "system", "user" or "assistant"
    text: str


@dataclass(frozen=True)
class Panel:
    """One panel of an interleaved answer: its caption, and the prompt its image is drawn from."""

    caption: str
    prompt: str


@dataclass(frozen=True)
class PromptPlan:
    """A thinking model's plan: the thought it shows, and the prompt the image is drawn from."""

    thought: str
    prompt: str


class TextBackend(Protocol):
    name: str

    def caption(self, prompt: str, image: Image.Image, reading: str | None) -> str:
        """One or two sentences that go with an image made from `prompt`; `reading` is what the
        model's family reads back from the image, when it can (backends.base.Backend.describe)."""
        ...

    def reply(self, messages: list[Message], reading: str | None) -> str:
        """A text-only answer to a conversation (no image asked for); `reading` is what the model's
        family makes of the last user message, when it can (backends.base.PromptReading)."""
        ...

    def plan(self, prompt: str, reading: str | None) -> PromptPlan:
        """Think before drawing: rewrite `prompt` into one the image model can draw (world knowledge
        made visual); `reading` is the family's own reading of it (backends.base.PromptReading.plan)."""
        ...

    def plan_panels(self, prompt: str, count: int) -> list[Panel] | None:
        """`count` panels for a request that asks for several images, or None if it cannot plan."""
        ...
