"""A text backend that asks any OpenAI-compatible chat server (vLLM, llama.cpp's server, Ollama).

Captions and replies are plain chat completions. A storyboard plan asks for JSON
(`{"panels": [{"caption": ..., "prompt": ...}]}`) and is checked before use: a reply that is not
that shape means "no plan", and the request is answered as an ordinary one.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
from PIL import Image
from pydantic import BaseModel, ValidationError

from plantain.text.base import Message, Panel, PromptPlan, TextBackendError

CAPTION_SYSTEM = (
    "You write the short text that accompanies a generated image. Answer in one or two sentences, without preamble."
)
REWRITE_SYSTEM = (
    "You turn a request for a picture into a prompt that an image model can draw: name what is seen "
    "(subjects, setting, light, colours, composition), resolving names and facts with your knowledge "
    '("the tallest mountain in Africa" is Mount Kilimanjaro, snow-capped, above the savanna). '
    "Answer with the prompt only, one paragraph, no preamble."
)
PLAN_SYSTEM = (
    "You plan a sequence of images. Answer with JSON only, no prose: "
    '{"panels": [{"caption": "...", "prompt": "..."}]} with exactly N panels, where each prompt '
    "describes one image on its own and each caption is one sentence shown before it."
)


class _PanelModel(BaseModel):
    caption: str
    prompt: str


class _PlanModel(BaseModel):
    panels: list[_PanelModel]


class OpenAIChatText:
    name = "openai-chat"

    def __init__(self, url: str, model: str, api_key: str = "", timeout: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self.model = model
        headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.Client(headers=headers, timeout=timeout)

    def _complete(self, messages: list[Message], **extra: Any) -> str:
        body = {"model": self.model, "messages": [{"role": m.role, "content": m.text} for m in messages], **extra}
        try:
            response = self.client.post(f"{self.url}/chat/completions", json=body)
            response.raise_for_status()
            content = response.json()["choices"][0]["message"]["content"]
        except (httpx.HTTPError, KeyError, IndexError, TypeError, ValueError) as exc:
            raise TextBackendError(f"the text backend at {self.url} did not answer: {exc}") from exc
        if not isinstance(content, str):
            raise TextBackendError(f"the text backend at {self.url} sent no text")
        return content.strip()

    def caption(self, prompt: str, image: Image.Image, reading: str | None) -> str:
        return self._complete(
            [Message("system", CAPTION_SYSTEM), Message("user", f"The image was made from this prompt: {prompt}")]
        )

    def reply(self, messages: list[Message], reading: str | None) -> str:
        return self._complete(messages)

    def plan(self, prompt: str, reading: str | None) -> PromptPlan:
        rewrite = self._complete([Message("system", REWRITE_SYSTEM), Message("user", prompt)])
        return PromptPlan(f"Planning the picture: {rewrite}", rewrite or prompt)

    def plan_panels(self, prompt: str, count: int) -> list[Panel] | None:
        text = self._complete(
            [Message("system", PLAN_SYSTEM.replace("exactly N", f"exactly {count}")), Message("user", prompt)],
            response_format={"type": "json_object"},
        )
        # Models often wrap JSON in a code fence; take the outermost object.
        match = re.search(r"\{.*\}", text, re.DOTALL)
        try:
            plan = _PlanModel.model_validate(json.loads(match.group(0) if match else text))
        except (ValueError, ValidationError):
            return None
        if len(plan.panels) != count or not all(p.prompt.strip() for p in plan.panels):
            return None
        return [Panel(p.caption.strip(), p.prompt.strip()) for p in plan.panels]
