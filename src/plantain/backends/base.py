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


@dataclass(frozen=True)
class Step:
    """One denoising step of one pipeline call, as a step hook sees it."""

    index: int  # 0-based
    total: int
    # Positions, in the list `generate` was given, of the jobs this call advances (a batch of
    # mixed sizes is several calls).
    jobs: tuple[int, ...]
    # The current state of those jobs as images (render size), decoded only when called; None when
    # the family cannot show its intermediate state.
    decode: Callable[[], list[Image.Image]] | None = None


# Called after each denoising step; returning False asks the backend to stop the batch between steps.
StepHook = Callable[[Step], bool | None]


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
    # The prompt read into the family's own terms: what it is about to draw (a thinking model's
    # plan when no language model is configured); None: the family has no such reading.
    plan: str | None = None


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

    @classmethod
    def pixel_step(cls, entry: ModelEntry) -> int:
        """Output sides it draws exactly at any multiple of (1: any size); other sizes are mapped."""
        ...

    def upscale(self, image: Image.Image, factor: int) -> Image.Image:
        """`image` at `factor` times its size, by the family's own upscaler."""
        ...

    def batch_key(self, job: ImageJob) -> Hashable:
        """Jobs with equal keys may share one device batch (same render size, mode and settings)."""
        ...

    def weights_id(self) -> Hashable:
        """The weights this backend runs on: backends with equal ids share a device and take turns."""
        ...

    def twin(self) -> Backend | None:
        """A backend on the same weights with call state of its own, whose `generate` may run inside
        a step hook of this one's (batch work steps aside for interactive work); None: it cannot."""
        ...

    def warm_up(self) -> float:
        """Draw one small image now (compiling, picking kernels), so no request pays for it; its
        seconds. Called on the thread that draws the batches (catalog speed.warmup)."""
        ...

    @classmethod
    def describe(cls, image: Image.Image) -> str | None:
        """What the family reads back from one of its own images, in words; None when it cannot.
        Class-level, like `read_prompt`: wherever the weights are, the server can caption."""
        ...
