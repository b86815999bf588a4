"""Dialect-free generation requests: what any wire format is translated into before validation."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ImageInput:
    """An encoded input image as it arrived (already base64-decoded), and where it sits."""

    data: bytes
    mime_type: str
    where: str  # a path into the request, for error messages ("contents[0].parts[1]")
    role: str = "user"


@dataclass
class Turn:
    role: str  # "user" or "model"
    texts: list[str] = field(default_factory=list)
    images: list[ImageInput] = field(default_factory=list)


@dataclass
class GenerationRequest:
    model: str
    turns: list[Turn]
    system: str = ""
    modalities: frozenset[str] = frozenset({"TEXT", "IMAGE"})
    aspect_ratio: str | None = None
    image_size: str | None = None
    candidate_count: int = 1
    seed: int | None = None

    @property
    def images(self) -> list[ImageInput]:
        return [im for turn in self.turns for im in turn.images]
