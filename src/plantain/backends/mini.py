"""The built-in mini model as a backend, loaded through diffusers' `from_pretrained`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from plantain.backends.base import Capabilities, Interrupted, StepHook
from plantain.core.jobs import ImageJob
from plantain.settings import Settings


class MiniBackend:
    def __init__(self, pipe: Any, steps: int, guidance: float) -> None:
        self.pipe = pipe
        self.steps = steps
        self.guidance = guidance
        side = pipe.resolution
        self.capabilities = Capabilities(
            native_size=(side, side), can_edit=True, max_input_images=1, max_batch=16, steps=steps
        )

    @classmethod
    def load(cls, settings: Settings, folder: Path | None = None) -> MiniBackend:
        from diffusers.utils import logging as diffusers_logging
        from transformers.utils import logging as transformers_logging

        from plantain.mini.pipeline import load_mini_pipeline

        # Loading messages and bars belong to the caller's own progress display.
        diffusers_logging.set_verbosity_error()
        diffusers_logging.disable_progress_bar()
        transformers_logging.set_verbosity_error()
        transformers_logging.disable_progress_bar()
        if settings.threads:
            torch.set_num_threads(settings.threads)
        pipe = load_mini_pipeline(folder or settings.mini_weights)
        return cls(pipe, settings.mini_steps, settings.mini_guidance)

    def generate(self, jobs: Sequence[ImageJob], on_step: StepHook | None = None) -> list[Image.Image]:
        def callback(pipe: Any, i: int, t: Any, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
            if on_step is not None and on_step(i, self.steps) is False:
                pipe._interrupt = True
            return tensors

        out = self.pipe(
            [job.prompt for job in jobs],
            image=[job.images[0] if job.images else None for job in jobs],
            num_inference_steps=self.steps,
            guidance_scale=self.guidance,
            generator=[torch.Generator().manual_seed(job.seed) for job in jobs],
            callback_on_step_end=callback,
        )
        if self.pipe.interrupt:
            raise Interrupted("stopped between denoising steps")
        return list(out.images)
