"""The backend contract. Backends know tensors and images, nothing of HTTP, keys or prices."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from PIL import Image

from plantain.core.catalog import ModelEntry
from plantain.core.jobs import ImageJob
from plantain.settings import Settings

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

    def generate(self, jobs: Sequence[ImageJob], on_step: StepHook | None = None) -> list[Image.Image]:
        """One device batch: one image per job, at the backend's native size, in job order."""
        ...
