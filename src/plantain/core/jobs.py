"""`ImageJob`: one image to make, whatever asked for it (CLI, API, batch)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from PIL import Image


class Priority(IntEnum):
    """Lower runs first: interactive work overtakes bulk work in every queue."""

    INTERACTIVE = 0
    BATCH = 1


@dataclass
class ImageJob:
    """One output image. Several candidates of one request are several jobs with derived seeds."""

    prompt: str
    seed: int
    width: int = 1024
    height: int = 1024
    # Reference images; with one, the prompt is an edit instruction applied to it.
    images: list[Image.Image] = field(default_factory=list)
    # Sampling settings; None: the model's own. Jobs batch together only when these agree.
    steps: int | None = None
    guidance: float | None = None
    # A multiple of the model's own steps, when `steps` is None (quality "low" runs fewer).
    effort: float = 1.0
    # Intermediate images wanted while it forms (the engine decodes them only for jobs that ask).
    previews: int = 0

    @property
    def is_edit(self) -> bool:
        return bool(self.images)


def candidate_seeds(seed: int, count: int) -> list[int]:
    """Seeds of a request's candidates: the request seed, then the next ones (31-bit wrap)."""
    return [(seed + i) % (2**31) for i in range(count)]


def preview_steps(total: int, count: int) -> frozenset[int]:
    """The denoising steps (0-based) after which `count` previews are taken: spread evenly over the
    run, never the last step (the final image is not a preview). Fewer when there are few steps."""
    if count <= 0 or total <= 1:
        return frozenset()
    return frozenset(min(total - 2, max(0, round(j * total / (count + 1)) - 1)) for j in range(1, count + 1))
