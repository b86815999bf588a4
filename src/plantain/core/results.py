"""What serving hands back to any caller, whatever dialect it speaks: encoded images with their
size, text parts, token usage, and how many jobs shared the device batch."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ImageOut:
    data: bytes  # encoded
    mime_type: str
    width: int
    height: int
    seed: int
    # An HMAC of the image and the model, so that an image coming back in a conversation can be
    # told ours (Gemini's thoughtSignature).
    signature: bytes | None = None


@dataclass(frozen=True)
class TextOut:
    text: str


@dataclass(frozen=True)
class Preview:
    """An intermediate image of one output while it forms: decoded from the denoising state."""

    index: int  # which output image (candidate order)
    step: int  # the denoising step it was taken after (0-based)
    total: int
    image: ImageOut


Part = ImageOut | TextOut


@dataclass(frozen=True)
class Thought:
    """The plan a thinking model shows before it draws."""

    text: str


@dataclass(frozen=True)
class Usage:
    prompt_text_tokens: int
    prompt_image_tokens: int
    output_image_tokens: int = 0
    output_text_tokens: int = 0
    images: int = 0
    size_tier: str = ""  # the price tier of the images ("1K"), "" when none were made
    thought_tokens: int = 0  # the plan's, when thinking was asked for

    @property
    def prompt_tokens(self) -> int:
        return self.prompt_text_tokens + self.prompt_image_tokens

    @property
    def output_tokens(self) -> int:
        return self.output_image_tokens + self.output_text_tokens

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.output_tokens + self.thought_tokens


@dataclass(frozen=True)
class Verdict:
    """The safety stage's refusal: a reason by Gemini's names and a message a person can read."""

    reason: str
    message: str


# What a blocked prompt may say (Gemini's promptFeedback.blockReason) and a withheld image (finishReason).
PROMPT_BLOCK_REASONS = frozenset({"SAFETY", "OTHER", "BLOCKLIST", "PROHIBITED_CONTENT"})
WITHHELD_REASONS = frozenset({"IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_OTHER"})


@dataclass
class Result:
    model: str  # the catalog entry that served it
    candidates: list[list[Part]]  # the parts of each candidate, in order
    usage: Usage
    batch_size: int = 0  # jobs in the device batch that drew the images (0: no images)
    thought: str | None = None  # the plan, when thinking was asked for
    prompt: str = ""  # what the images were drawn from (the plan's rewrite when there was one)
    cost_micro_usd: int | None = None  # at the catalog's prices, when the request was accounted for
    # The prompt refused by the safety stage: no candidates, nothing drawn.
    blocked: Verdict | None = None
    # Candidates whose images the classifier withheld (by candidate index): they have no image parts.
    withheld: dict[int, Verdict] = field(default_factory=dict)

    @property
    def nothing_delivered(self) -> bool:
        """Refused, or every image withheld: the request is not charged."""
        return self.blocked is not None or (bool(self.withheld) and not self.images)

    @property
    def images(self) -> list[ImageOut]:
        """Every image part, in candidate order."""
        return [p for parts in self.candidates for p in parts if isinstance(p, ImageOut)]


# What a caller may hear while a request runs, before its result.
Event = Thought | Preview
