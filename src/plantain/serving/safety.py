"""The safety stage: a prompt policy before any work, an image classifier before any image leaves.

Both are pluggable. The prompt policy is a blocklist by default (the packaged `blocklist.txt`, or
the file PLANTAIN_PROMPT_BLOCKLIST names; "off" for none) or any callable named by
PLANTAIN_PROMPT_POLICY as "module:attribute". The image classifier is off by default; PLANTAIN_IMAGE_CLASSIFIER
names one the same way. A hook is a callable (or a class, made with no arguments, whose instances
are) returning a `Verdict` to block, or None to let the prompt or image through:

    def prompt_policy(texts: list[str]) -> Verdict | None: ...
    def image_classifier(image: PIL.Image.Image, prompt: str) -> Verdict | None: ...

A blocked prompt never reaches the engine; a withheld image is never encoded. Neither is charged.
"""

from __future__ import annotations

import importlib
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image

from plantain.core.requests import GenerationRequest
from plantain.core.results import PROMPT_BLOCK_REASONS, WITHHELD_REASONS, Verdict
from plantain.core.settings import Settings

PromptPolicy = Callable[[list[str]], Verdict | None]
ImageClassifier = Callable[[Image.Image, str], Verdict | None]

BUILTIN_BLOCKLIST = Path(__file__).with_name("blocklist.txt")


def normalised(text: str) -> str:
    """Lower case, compatibility forms folded, every run of non-alphanumerics one space: "Child-Porn!",
    "child  porn" and its full-width form read alike, and a term matches whole words only."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " " + " ".join(re.findall(r"[^\W_]+", folded)) + " "


class Blocklist:
    """Blocks a prompt holding any of the listed terms (one a line; `#` starts a comment) as whole
    words, in any case and with any punctuation between them."""

    def __init__(self, terms: list[str]) -> None:
        self.terms = [n for n in (normalised(t) for t in terms) if n.strip()]

    @classmethod
    def from_file(cls, path: Path) -> Blocklist:
        lines = path.read_text(encoding="utf-8").splitlines()
        return cls([line.split("#", 1)[0] for line in lines])

    def __call__(self, texts: list[str]) -> Verdict | None:
        for text in texts:
            norm = normalised(text)
            if any(term in norm for term in self.terms):
                return Verdict("BLOCKLIST", "The prompt contains terms this server does not accept.")
        return None


def load_hook(spec: str, what: str) -> Callable[..., Any]:
    """The callable that "module:attribute" names (a class is made with no arguments)."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"{what} must be given as module:attribute, not {spec!r}")
    hook = getattr(importlib.import_module(module_name), attribute)
    if isinstance(hook, type):
        hook = hook()
    if not callable(hook):
        raise ValueError(f"{what} {spec!r} is not callable")
    return hook  # type: ignore[no-any-return]


def checked(verdict: object, reasons: frozenset[str], what: str) -> Verdict | None:
    """A hook's answer, held to the reasons its dialects can say."""
    if verdict is None:
        return None
    if not isinstance(verdict, Verdict) or verdict.reason not in reasons:
        expected = f"None or a Verdict with a reason in {sorted(reasons)}"
        raise TypeError(f"the {what} returned {verdict!r}; expected {expected}")
    return verdict


class Safety:
    def __init__(self, policy: PromptPolicy | None, classifier: ImageClassifier | None) -> None:
        self.policy = policy
        self.classifier = classifier

    @classmethod
    def from_settings(cls, settings: Settings) -> Safety:
        policy: PromptPolicy | None
        if settings.prompt_policy:
            policy = load_hook(settings.prompt_policy, "PLANTAIN_PROMPT_POLICY")
        elif settings.prompt_blocklist == "off":
            policy = None
        else:
            path = Path(settings.prompt_blocklist) if settings.prompt_blocklist else BUILTIN_BLOCKLIST
            policy = Blocklist.from_file(path)
        classifier = None
        if settings.image_classifier:
            classifier = load_hook(settings.image_classifier, "PLANTAIN_IMAGE_CLASSIFIER")
        return cls(policy, classifier)

    def check_prompt(self, request: GenerationRequest) -> Verdict | None:
        """Every text of the request (the system instruction and each turn's, the model's too: a
        client writes those), judged by the policy."""
        if self.policy is None:
            return None
        texts = [request.system, *(t for turn in request.turns for t in turn.texts)]
        return checked(self.policy([t for t in texts if t.strip()]), PROMPT_BLOCK_REASONS, "prompt policy")

    def check_image(self, image: Image.Image, prompt: str) -> Verdict | None:
        if self.classifier is None:
            return None
        return checked(self.classifier(image, prompt), WITHHELD_REASONS, "image classifier")
