"""A small OpenAI-compatible chat server for tests: scripted answers, every request recorded.

It stands in for vLLM / llama.cpp / Ollama, whose models cannot run here; what Plantain sends and
how it uses the replies are the things under test.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI, Request

from tests.server_process import free_port

PANEL_PLAN = {
    "panels": [
        {"caption": "The red circle starts at the left.", "prompt": "a red circle at the left on a white background"},
        {"caption": "It rolls to the center.", "prompt": "a red circle at the center on a white background"},
        {"caption": "And stops at the right.", "prompt": "a red circle at the right on a white background"},
    ]
}


def scripted_answer(body: dict[str, Any]) -> str:
    messages = body["messages"]
    system = next((m["content"] for m in messages if m["role"] == "system"), "")
    last = messages[-1]["content"]
    if "JSON" in system:
        n = int(re.search(r"exactly (\d+)", system).group(1))  # type: ignore[union-attr]
        if "fenced" in last:  # a model that wraps its JSON in a code fence
            return "```json\n" + json.dumps({"panels": PANEL_PLAN["panels"][:n]}) + "\n```"
        if "nonsense" in last:
            return "I would rather not."
        return json.dumps({"panels": PANEL_PLAN["panels"][:n]})
    if "turn a request for a picture into a prompt" in system:
        # World knowledge, as an LLM brings it, in words the built-in model can draw.
        if "tallest mountain in Africa" in last:
            return "a large orange triangle at the center on a sky background"
        return last
    if "accompanies a generated image" in system:
        return f"caption for: {last.split(': ', 1)[1]}"
    return f"reply to: {last} ({len(messages)} messages)"


def make_app(log: list[dict[str, Any]]) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> dict[str, Any]:
        body = await request.json()
        log.append({"body": body, "authorization": request.headers.get("authorization")})
        return {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": scripted_answer(body)},
                    "finish_reason": "stop",
                }
            ],
        }

    return app


@contextmanager
def chat_server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """(base URL ending in /v1, the list of requests received)."""
    log: list[dict[str, Any]] = []
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(make_app(log), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}/v1"
    deadline = time.time() + 30
    while True:
        try:
            httpx.get(base + "/models")
            break
        except httpx.TransportError:
            if time.time() > deadline:
                raise
            time.sleep(0.05)
    try:
        yield base, log
    finally:
        server.should_exit = True
        thread.join(10)
