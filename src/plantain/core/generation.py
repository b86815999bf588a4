"""From jobs to served images: run a backend batch, then bring each image to the job's size."""

from __future__ import annotations

from collections.abc import Sequence

from PIL import Image

from plantain.backends.base import Backend, StepHook
from plantain.core.jobs import ImageJob
from plantain.imaging.encode import upscale


def run_jobs(backend: Backend, jobs: Sequence[ImageJob], on_step: StepHook | None = None) -> list[Image.Image]:
    rendered = backend.generate(jobs, on_step)
    resample = backend.capabilities.resample
    return [upscale(im, (job.width, job.height), resample) for im, job in zip(rendered, jobs, strict=True)]
