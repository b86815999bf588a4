"""Reading SDK responses in tests: the image part and the text part of a candidate."""

from __future__ import annotations

import io

from google.genai import types
from PIL import Image


def image_bytes(candidate: types.Candidate) -> bytes:
    """The one image part's bytes (a candidate may also hold a text part)."""
    parts = [p for p in (candidate.content.parts or []) if p.inline_data]  # type: ignore[union-attr]
    assert len(parts) == 1, f"expected one image part, got {len(parts)}"
    data = parts[0].inline_data.data  # type: ignore[union-attr]
    assert data is not None
    return data


def image_of(candidate: types.Candidate) -> Image.Image:
    return Image.open(io.BytesIO(image_bytes(candidate)))


def texts_of(candidate: types.Candidate) -> list[str]:
    return [p.text for p in (candidate.content.parts or []) if p.text]  # type: ignore[union-attr]
