"""Turning a plan into an answer's candidates: images from the engine, text from the text backend.

- IMAGE only: one image part per candidate.
- TEXT and IMAGE: a text part before each image (Google's order), written about that image.
- TEXT only: a text reply per candidate, no image work at all.
- A prompt that asks for several panels, with a text backend that plans them: one candidate whose
  parts interleave each panel's caption and image, all images drawn in one device batch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import anyio
from PIL import Image

from plantain.core.errors import unavailable
from plantain.core.jobs import ImageJob, candidate_seeds
from plantain.core.requests import GenerationRequest
from plantain.core.results import ImageOut, Part, TextOut
from plantain.core.tokens import text_tokens
from plantain.serving.plan import Plan
from plantain.text.base import Message, Panel, TextBackend, TextBackendError
from plantain.text.storyboard import panel_count

T = TypeVar("T")


def messages_of(request: GenerationRequest) -> list[Message]:
    """The conversation as chat messages (text parts only; images are not sent to the text backend)."""
    out = [Message("system", request.system)] if request.system.strip() else []
    for turn in request.turns:
        text = "\n".join(t for t in turn.texts if t.strip())
        if text:
            out.append(Message("assistant" if turn.role == "model" else "user", text))
    return out


async def text_call(fn: Callable[..., T], *args: object) -> T:
    """A text backend call off the event loop; its failure is the service's 503."""
    try:
        return await anyio.to_thread.run_sync(fn, *args)
    except TextBackendError as exc:
        raise unavailable(str(exc)) from exc


async def plan_panels(plan: Plan, text: TextBackend) -> list[Panel] | None:
    """Panels for a storyboard-like prompt, and the plan's jobs replaced by one per panel."""
    if plan.text_only or not plan.with_text or plan.is_edit or plan.candidate_count != 1:
        return None
    count = panel_count(plan.prompt)
    if count is None:
        return None
    panels = await text_call(text.plan_panels, plan.prompt, count)
    if not panels:
        return None
    plan.jobs = [
        ImageJob(prompt=p.prompt, seed=s, width=plan.width, height=plan.height)
        for p, s in zip(panels, candidate_seeds(plan.seed, len(panels)), strict=True)
    ]
    return panels


async def text_only(
    plan: Plan, request: GenerationRequest, text: TextBackend, reading: str | None
) -> tuple[list[list[Part]], int]:
    replies = [await text_call(text.reply, messages_of(request), reading) for _ in range(plan.candidate_count)]
    return [[TextOut(r)] for r in replies], sum(text_tokens(r) for r in replies)


async def compose(
    plan: Plan,
    images: list[Image.Image],
    outs: list[ImageOut],
    panels: list[Panel] | None,
    text: TextBackend,
    describe: Callable[[Image.Image], str | None],
) -> tuple[list[list[Part]], int]:
    """Each candidate's parts, and the output text tokens they hold."""
    if panels is not None:
        parts: list[Part] = []
        for panel, out in zip(panels, outs, strict=True):
            parts += [TextOut(panel.caption), out]
        return [parts], sum(text_tokens(p.caption) for p in panels)
    if not plan.with_text:
        return [[out] for out in outs], 0

    def caption(prompt: str, image: Image.Image) -> str:
        return text.caption(prompt, image, describe(image))

    captions = [await text_call(caption, job.prompt, image) for job, image in zip(plan.jobs, images, strict=True)]
    return (
        [[TextOut(c), out] for c, out in zip(captions, outs, strict=True)],
        sum(text_tokens(c) for c in captions),
    )
