"""The OpenAI-compatible text backend against a local chat server."""

from __future__ import annotations

import pytest

from plantain.mini.render import render_image
from plantain.mini.world import Scene
from plantain.text.base import Message, Panel, TextBackendError
from plantain.text.openai_chat import OpenAIChatText
from tests.chat_server import PANEL_PLAN, chat_server
from tests.server_process import free_port


def test_plans_captions_and_replies() -> None:
    with chat_server() as (url, log):
        text = OpenAIChatText(url, "tiny-chat", api_key="k")
        plan = text.plan_panels("a 2-panel storyboard of a red circle", 2)
        assert plan == [Panel(p["caption"], p["prompt"]) for p in PANEL_PLAN["panels"][:2]]
        assert log[-1]["body"]["response_format"] == {"type": "json_object"}
        assert "exactly 2 panels" in log[-1]["body"]["messages"][0]["content"]
        fenced = text.plan_panels("a 3-panel storyboard, fenced", 3)
        assert fenced is not None and len(fenced) == 3
        assert text.plan_panels("a 3-panel storyboard, nonsense", 3) is None
        assert text.plan_panels("a 4-panel storyboard", 4) is None  # three panels came back
        assert text.caption("a red circle", render_image(Scene("white")), None) == "caption for: a red circle"
        reply = text.reply([Message("system", "be brief"), Message("user", "hi")], None)
        assert reply == "reply to: hi (2 messages)"
        assert all(entry["authorization"] == "Bearer k" for entry in log)


def test_an_unreachable_server_is_a_text_backend_error() -> None:
    text = OpenAIChatText(f"http://127.0.0.1:{free_port()}/v1", "m", timeout=2)
    with pytest.raises(TextBackendError, match="did not answer"):
        text.reply([Message("user", "hi")], None)
