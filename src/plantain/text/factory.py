"""Which text backend a server uses: the chat server of PLANTAIN_TEXT_URL, else the built-in one."""

from __future__ import annotations

from plantain.core.settings import Settings
from plantain.text.base import TextBackend
from plantain.text.builtin import BuiltinText
from plantain.text.openai_chat import OpenAIChatText


def make_text_backend(settings: Settings) -> TextBackend:
    if settings.text_url:
        return OpenAIChatText(settings.text_url, settings.text_model, settings.text_api_key, settings.text_timeout)
    return BuiltinText()
