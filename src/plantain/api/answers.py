"""Turning a plan into an answer's candidates: images from the engine, text from the text backend.

- IMAGE only: one image part per candidate.
- TEXT and IMAGE: a text part before each image (Google's order), written about that image.
- TEXT only: a text reply per candidate, no image work at all.
- A prompt that asks for several panels, with a text backend that plans them: one candidate whose
  parts interleave each panel's caption and image, all images drawn in one device batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anyio
from PIL import Image

from plantain.core.jobs import ImageJob, candidate_seeds
from plantain.core.plan import Plan
from plantain.core.requests import GenerationRequest
from plantain.core.tokens import text_tokens
from plantain.errors import ApiError
from plantain.text.base import Message, Panel, TextBackend, TextBackendError
from plantain.text.storyboard import panel_count


@dataclass
class Answer:
    candidates: list[list[dict[str, Any]]]  # the parts of each candidate
    text_tokens: int = 0


def messages_of(request: GenerationRequest) -> list[Message]:
    """The conversation as chat messages (text parts only; images are not sent to the text backend)."""
    out = [Message("system", request.system)] if request.system.strip() else []
    for turn in request.turns:
        text = "\n".join(t for t in turn.texts if t.strip())
        if text:
            out.append(Message("assistant" if turn.role == "model" else "user", text))
    return out


async def _text_call(fn: Any, *args: Any) -> Any:
    try:
        return await anyio.to_thread.run_sync(fn, *args)
    except TextBackendError as exc:
        raise ApiError(503, "UNAVAILABLE", str(exc)) from exc


async def plan_panels(plan: Plan, text: TextBackend) -> list[Panel] | None:
    """Panels for a storyboard-like prompt, and the plan's jobs replaced by one per panel."""
    if plan.text_only or not plan.with_text or plan.is_edit or plan.candidate_count != 1:
        return None
    count = panel_count(plan.prompt)
    if count is None:
        return None
    panels: list[Panel] | None = await _text_call(text.plan_panels, plan.prompt, count, plan.entry.family)
    if not panels:
        return None
    plan.jobs = [
        ImageJob(prompt=p.prompt, seed=s, width=plan.width, height=plan.height)
        for p, s in zip(panels, candidate_seeds(plan.seed, len(panels)), strict=True)
    ]
    return panels


def text_part(text: str) -> dict[str, Any]:
    return {"text": text}


async def text_only(plan: Plan, request: GenerationRequest, text: TextBackend) -> Answer:
    replies = [
        await _text_call(text.reply, messages_of(request), plan.entry.family) for _ in range(plan.candidate_count)
    ]
    return Answer([[text_part(r)] for r in replies], sum(text_tokens(r) for r in replies))


async def compose(
    plan: Plan,
    images: list[Image.Image],
    image_parts: list[dict[str, Any]],
    panels: list[Panel] | None,
    text: TextBackend,
) -> Answer:
    if panels is not None:
        parts: list[dict[str, Any]] = []
        for panel, part in zip(panels, image_parts, strict=True):
            parts += [text_part(panel.caption), part]
        return Answer([parts], sum(text_tokens(p.caption) for p in panels))
    if not plan.with_text:
        return Answer([[part] for part in image_parts])
    captions: list[str] = []
    for job, image in zip(plan.jobs, images, strict=True):
        captions.append(await _text_call(text.caption, job.prompt, image, plan.entry.family))
    return Answer(
        [[text_part(c), part] for c, part in zip(captions, image_parts, strict=True)],
        sum(text_tokens(c) for c in captions),
    )
