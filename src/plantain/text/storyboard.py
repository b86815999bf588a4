"""Requests that ask for several pictures in one answer ("a 3-panel storyboard of ...")."""

from __future__ import annotations

import re

_NUMBERS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
_COUNT = r"(?P<n>\d+|" + "|".join(_NUMBERS) + r")"
_PATTERNS = (
    re.compile(rf"\b{_COUNT}[- ](?:panel|frame|step|scene|shot)s?\b[^.]*\b(?:storyboard|comic|strip|story|sequence)"),
    re.compile(
        rf"\b(?:storyboard|comic strip|comic|sequence)\b[^.]*?\b(?:of|in|with) {_COUNT} (?:panels|frames|scenes)"
    ),
    re.compile(rf"\b{_COUNT}[- ]panel\b"),
)
MAX_PANELS = 6


def panel_count(prompt: str) -> int | None:
    """How many panels the prompt asks for (2 to MAX_PANELS), or None for an ordinary prompt."""
    text = prompt.lower()
    for pattern in _PATTERNS:
        m = pattern.search(text)
        if m:
            raw = m.group("n")
            n = int(raw) if raw.isdigit() else _NUMBERS[raw]
            return n if 2 <= n <= MAX_PANELS else None
    return None
