"""Dialect-free generation requests: what any wire format is translated into before validation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from plantain.core.jobs import Priority


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
    # The output size: by Google's names (an aspect ratio and a size tier), or in pixels by dialects
    # that name pixels ("1536x1024"); pixels win when both are given.
    aspect_ratio: str | None = None
    image_size: str | None = None
    width: int | None = None
    height: int | None = None
    candidate_count: int = 1
    seed: int | None = None
    # Sampler effort: a multiple of the model's own number of denoising steps (OpenAI's quality).
    effort: float = 1.0
    # A mask over the image to edit (the last input): transparent pixels are the area to change;
    # every other pixel of the answer is the input's own.
    mask: ImageInput | None = None
    # "alpha": transparent pixels are the area to edit (OpenAI); "white": white pixels are (Imagen).
    mask_convention: Literal["alpha", "white"] = "alpha"
    # A size in pixels that the model cannot draw exactly is snapped to its nearest own size
    # (OpenAI's rule) instead of drawn at the nearest size it can and resized.
    snap_size: bool = False
    # And a size over the model's largest is mapped to its nearest own size instead of refused (the
    # sizes apps hard-code, such as OpenAI's "1792x1024", work with every model).
    fit_size: bool = False
    # How the images are encoded: image/png, image/jpeg or image/webp, at a quality for the lossy two.
    output_mime_type: str = "image/png"
    output_quality: int | None = None
    # Plan first and hand back the plan as a thought (Gemini's includeThoughts; Imagen's enhancePrompt).
    thinking: bool = False
    # Intermediate images to hand to the caller's preview sink while each image forms (0: none).
    previews: int = 0
    priority: Priority = Priority.INTERACTIVE
    # Refuse an instruction that only makes sense as an edit when no image came with it (a
    # conversation that lost its image). The CLI turns it off: there the words alone are the prompt.
    edits_need_an_image: bool = True

    @property
    def images(self) -> list[ImageInput]:
        return [im for turn in self.turns for im in turn.images]


@dataclass
class UpscaleRequest:
    """An image to enlarge by a factor the entry offers ("x2", "x4")."""

    model: str
    image: ImageInput
    factor: str
    output_mime_type: str = "image/png"
    output_quality: int | None = None
