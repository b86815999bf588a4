"""The backend contract. Backends know tensors and images, nothing of HTTP, keys or prices.

The engine and serving use a backend only through `Backend`: what it can do, how to tell which
jobs may share a device batch, which weights it runs on, drawing a batch, and what its family can
say in words about its own prompts and images.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Protocol

from PIL import Image

from plantain.core.catalog import ModelEntry
from plantain.core.jobs import ImageJob
from plantain.core.settings import Settings

# Called after each denoising step with (step index, total steps); returning False asks the
# backend to stop the batch between steps.
StepHook = Callable[[int, int], bool | None]


@dataclass(frozen=True)
class Capabilities:
    native_size: tuple[int, int]
    can_edit: bool
    max_input_images: int
    max_batch: int
    steps: int
    # How a rendered image is resized to the served size: "nearest" or "lanczos".
    resample: str = "lanczos"


@dataclass(frozen=True)
class PromptReading:
    """What a model family makes of a prompt without drawing it (no weights needed)."""

    # The prompt only makes sense as an edit of an image ("make the circle blue").
    needs_image: bool = False
    # A sentence about what the prompt would draw, for text-only answers; None: nothing to say.
    description: str | None = None


class Interrupted(Exception):
    """A step hook asked the backend to stop."""


class BackendUnavailable(RuntimeError):
    """A model cannot be loaded here: weights not on disk, a package missing. The message says which."""


class Backend(Protocol):
    capabilities: Capabilities

    @classmethod
    def load(cls, entry: ModelEntry, settings: Settings) -> Backend:
        """Build from a catalog entry: checkpoint (repo id or folder), device, dtype, options."""
        ...

    @classmethod
    def read_prompt(cls, prompt: str) -> PromptReading:
        """What the family makes of a prompt; class-level, so a text-only answer loads no weights."""
        ...

    def generate(self, jobs: Sequence[ImageJob], on_step: StepHook | None = None) -> list[Image.Image]:
        """One device batch: one image per job, at that job's size, in job order."""
        ...

    def batch_key(self, job: ImageJob) -> Hashable:
        """Jobs with equal keys may share one device batch (same render size, mode and settings)."""
        ...

    def weights_id(self) -> Hashable:
        """The weights this backend runs on: backends with equal ids share a device and take turns."""
        ...

    def describe(self, image: Image.Image) -> str | None:
        """What the family reads back from one of its own images, in words; None when it cannot."""
        ...
