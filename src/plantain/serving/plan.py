"""Validate a generation request against its catalog entry, completely, before anything is queued,
and turn it into image jobs with their token counts."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from PIL import Image

from plantain.core.catalog import ModelEntry
from plantain.core.errors import invalid_argument
from plantain.core.jobs import ImageJob, candidate_seeds
from plantain.core.requests import GenerationRequest
from plantain.core.sizes import (
    ASPECT_RATIOS,
    SIZE_ALIASES,
    SIZE_TIERS,
    closest_ratio,
    pixel_size,
    tier_area,
    tier_for_pixels,
)
from plantain.core.tokens import PromptTokens, check_token_limit, count_prompt_tokens
from plantain.imaging.decode import ACCEPTED_FORMATS, decode_image
from plantain.imaging.mask import read_mask

ACCEPTED_MIME_TYPES = frozenset(ACCEPTED_FORMATS.values())
# Narrower sides than this are refused: no family draws anything useful below it.
MIN_SIDE = 16


@dataclass
class Plan:
    entry: ModelEntry
    jobs: list[ImageJob]  # empty for a text-only answer
    tier: str
    aspect_ratio: str
    width: int
    height: int
    prompt_tokens: PromptTokens
    is_edit: bool
    prompt: str = ""
    modalities: frozenset[str] = frozenset({"TEXT", "IMAGE"})
    candidate_count: int = 1
    seed: int = 0
    # A masked edit: the image edited and where it may change (imaging.mask); None otherwise.
    original: Image.Image | None = None
    mask: Image.Image | None = None
    output_mime_type: str = "image/png"
    output_quality: int | None = None

    @property
    def text_only(self) -> bool:
        return "IMAGE" not in self.modalities

    @property
    def with_text(self) -> bool:
        return "TEXT" in self.modalities

    @property
    def image_output_tokens(self) -> int:
        return self.entry.image_output_tokens[self.tier] * len(self.jobs)


def _tier(entry: ModelEntry, requested: str | None) -> str:
    if requested is not None and requested not in SIZE_TIERS and requested not in SIZE_ALIASES:
        raise invalid_argument(
            f'imageSize "{requested}" is not a valid size; valid sizes are {", ".join(SIZE_TIERS)} '
            "(with an upper-case K)",
            "image_size",
        )
    tier = entry.size_tier(requested)
    if tier is None:
        raise invalid_argument(
            f'imageSize "{requested}" is not supported by models/{entry.id}; supported: {", ".join(entry.sizes)}',
            "image_size",
        )
    return tier


def _check_ratio(entry: ModelEntry, ratio: str | None) -> None:
    if ratio is not None and ratio not in ASPECT_RATIOS:
        raise invalid_argument(
            f'aspectRatio "{ratio}" is not valid; valid ratios are {", ".join(ASPECT_RATIOS)}', "aspect_ratio"
        )
    if ratio is not None and ratio not in entry.aspect_ratios:
        raise invalid_argument(
            f'aspectRatio "{ratio}" is not supported by models/{entry.id}; supported: {", ".join(entry.aspect_ratios)}',
            "aspect_ratio",
        )


def sizes_it_makes(entry: ModelEntry, step: int) -> str:
    """The sizes a model makes, in words, for an error about a size it cannot."""
    largest_tier = max(entry.sizes, key=tier_area)
    shown = [r for r in ("1:1", "3:2", "2:3", "16:9", "9:16") if r in entry.aspect_ratios]
    examples = ", ".join("{}x{}".format(*pixel_size(r, t)) for t in entry.sizes for r in shown[:3])
    sides = "any width and height" if step == 1 else f"widths and heights that are multiples of {step}"
    return (
        f"models/{entry.id} makes {sides} from {MIN_SIDE} up to {tier_area(largest_tier):,} pixels in all, "
        f"and maps other sizes to its own (for example {examples})"
    )


def _pixels(entry: ModelEntry, width: int, height: int, step: int) -> tuple[str, str]:
    """(price tier, nearest aspect ratio) of a size asked for in pixels."""
    if min(width, height) < MIN_SIDE:
        raise invalid_argument(f"the image size {width}x{height} is too small: {sizes_it_makes(entry, step)}", "size")
    tier = tier_for_pixels(width, height, entry.sizes)
    if tier is None:
        raise invalid_argument(f"the image size {width}x{height} is too large: {sizes_it_makes(entry, step)}", "size")
    return tier, closest_ratio(width, height, entry.aspect_ratios)


def snapped(entry: ModelEntry, width: int, height: int) -> tuple[int, int]:
    """A size the model cannot draw exactly, as its nearest own size: the closest aspect ratio, at the
    smallest tier whose long side reaches the asked one (else its largest)."""
    ratio = closest_ratio(width, height, entry.aspect_ratios)
    tiers = sorted(entry.sizes, key=tier_area)
    tier = next((t for t in tiers if max(pixel_size(ratio, t)) >= max(width, height)), tiers[-1])
    return pixel_size(ratio, tier)


def plan_generation(
    entry: ModelEntry, request: GenerationRequest, max_pixels: int, needs_image: bool, pixel_step: int = 1
) -> Plan:
    """`needs_image`: the model's family reads the instruction as an edit (backends.base.PromptReading);
    `pixel_step`: it draws any size whose sides are multiples of this exactly (Backend.pixel_step)."""
    if not request.modalities & {"TEXT", "IMAGE"}:
        raise invalid_argument("responseModalities must include TEXT or IMAGE", "response_modalities")
    by_pixels = request.width is not None and request.height is not None
    tier = _tier(entry, request.image_size) if not by_pixels else ""
    _check_ratio(entry, request.aspect_ratio)
    if not 1 <= request.candidate_count <= entry.max_candidates:
        raise invalid_argument(
            f"candidateCount must be between 1 and {entry.max_candidates} for models/{entry.id} "
            f"(got {request.candidate_count})",
            "candidate_count",
        )
    inputs = request.images
    if len(inputs) > entry.max_input_images:
        raise invalid_argument(
            f"too many input images: {len(inputs)}; models/{entry.id} takes at most {entry.max_input_images}"
        )
    if inputs and not entry.can_edit:
        raise invalid_argument(f"models/{entry.id} cannot edit images; send text only")
    for im in inputs:
        if im.mime_type.lower() not in ACCEPTED_MIME_TYPES:
            raise invalid_argument(
                f"Unsupported MIME type {im.mime_type!r} at {im.where}; "
                f"accepted: {', '.join(sorted(ACCEPTED_MIME_TYPES))}"
            )
    tokens = count_prompt_tokens(entry, request)
    check_token_limit(entry, tokens)
    prompt = instruction(request)
    if not prompt:
        raise invalid_argument("the request has no text: say what to draw or how to edit the image")
    images = [decode_image(im.data, max_pixels, what=f"the image at {im.where}") for im in inputs]
    if not images and "IMAGE" in request.modalities and needs_image and request.edits_need_an_image:
        raise invalid_argument(
            f'"{prompt}" is an edit instruction, but the conversation holds no image to edit: '
            "send the image with the instruction, or describe a new picture"
        )
    # The image to edit is the last one of the conversation; earlier ones are references.
    ordered = [images[-1], *images[:-1]] if images else []
    mask = None
    if request.mask is not None:
        if not images:
            raise invalid_argument("a mask needs an image to edit", "mask")
        mask = read_mask(request.mask.data, images[-1].size, request.mask_convention, max_pixels)
    if by_pixels or (mask is not None and request.aspect_ratio is None and request.image_size is None):
        # A masked edit with no size asked for keeps the input's size: outside the mask it is the input.
        if request.width is not None and request.height is not None:
            width, height = request.width, request.height
        else:
            width, height = images[-1].size
        if request.snap_size and min(width, height) >= MIN_SIDE:
            misaligned = width % pixel_step or height % pixel_step
            too_large = tier_for_pixels(width, height, entry.sizes) is None
            if misaligned or (too_large and request.fit_size):
                width, height = snapped(entry, width, height)
        tier, ratio = _pixels(entry, width, height, pixel_step)
    else:
        ratio = request.aspect_ratio or (closest_ratio(*images[-1].size, entry.aspect_ratios) if images else "1:1")
        width, height = pixel_size(ratio, tier)
    seed = request.seed if request.seed is not None else secrets.randbelow(2**31)
    # A text-only answer draws nothing.
    jobs = (
        [
            ImageJob(
                prompt=prompt,
                seed=s,
                width=width,
                height=height,
                images=list(ordered),
                effort=request.effort,
                previews=request.previews,
            )
            for s in candidate_seeds(seed, request.candidate_count)
        ]
        if "IMAGE" in request.modalities
        else []
    )
    return Plan(
        entry,
        jobs,
        tier,
        ratio,
        width,
        height,
        tokens,
        bool(images),
        prompt=prompt,
        modalities=request.modalities,
        candidate_count=request.candidate_count,
        seed=seed,
        original=images[-1] if mask is not None else None,
        mask=mask,
        output_mime_type=request.output_mime_type,
        output_quality=request.output_quality,
    )


def instruction(request: GenerationRequest) -> str:
    """The text of the last user turn: what to draw, or the edit to make to the last image."""
    for turn in reversed(request.turns):
        if turn.role == "user" and any(t.strip() for t in turn.texts):
            return " ".join(t.strip() for t in turn.texts if t.strip())
    return ""
