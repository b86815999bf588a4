"""Safety hooks the tests configure servers with (PLANTAIN_IMAGE_CLASSIFIER, PLANTAIN_PROMPT_POLICY):
they judge the real image and prompt, as an operator's classifier would."""

from __future__ import annotations

import numpy as np
from PIL import Image

from plantain.core.results import Verdict


def red_share(image: Image.Image) -> float:
    """The share of the image's pixels that are plainly red."""
    a = np.asarray(image.convert("RGB")).astype(np.int16)
    red = (a[..., 0] - np.maximum(a[..., 1], a[..., 2])) > 80
    return float(red.mean())


class WithholdRed:
    """Withholds an image of which more than 1% is red: "a red circle" is withheld, "a blue square" is not."""

    def __call__(self, image: Image.Image, prompt: str) -> Verdict | None:
        if red_share(image) > 0.01:
            return Verdict("IMAGE_SAFETY", "The image shows red, which this server withholds.")
        return None


def no_dragons(texts: list[str]) -> Verdict | None:
    """A prompt policy in place of the blocklist."""
    if any("dragon" in t.lower() for t in texts):
        return Verdict("PROHIBITED_CONTENT", "Dragons are not drawn here.")
    return None
