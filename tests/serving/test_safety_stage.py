"""The safety stage's parts on their own: the blocklist's matching, hooks by name, answers checked."""

from __future__ import annotations

import pytest
from PIL import Image

from plantain.core.requests import GenerationRequest, Turn
from plantain.core.results import Verdict
from plantain.core.settings import Settings
from plantain.serving.safety import BUILTIN_BLOCKLIST, Blocklist, Safety, load_hook


def request(*texts: str, system: str = "") -> GenerationRequest:
    return GenerationRequest(model="m", turns=[Turn("user", list(texts), [])], system=system)


@pytest.mark.parametrize(
    ("prompt", "blocked"),
    [
        ("a Forbidden  Fruit", True),
        ("the forbidden-fruit!", True),
        ("".join(chr(ord(c) + 0xFEE0) if c != " " else c for c in "forbidden fruit"), True),  # full-width
        ("forbidden fruitcake", False),  # whole words only
        ("a fruit, forbidden", False),
    ],
)
def test_blocklist_matches_whole_words_in_any_case(prompt: str, blocked: bool) -> None:
    assert (Blocklist(["forbidden fruit"])([prompt]) is not None) is blocked


def test_the_packaged_list_is_the_default_and_can_be_turned_off(tmp_path: object) -> None:
    default = Safety.from_settings(Settings())
    assert isinstance(default.policy, Blocklist) and default.policy.terms
    assert len(default.policy.terms) == len(Blocklist.from_file(BUILTIN_BLOCKLIST).terms)
    verdict = default.check_prompt(request("a cat", system="CSAM"))
    assert verdict is not None and verdict.reason == "BLOCKLIST"
    assert default.check_prompt(request("a cat on a mat")) is None
    assert Safety.from_settings(Settings(prompt_blocklist="off")).check_prompt(request("CSAM")) is None


def test_hooks_by_name_and_their_answers_checked() -> None:
    safety = Safety.from_settings(
        Settings(prompt_policy="tests.safety_hooks:no_dragons", image_classifier="tests.safety_hooks:WithholdRed")
    )
    assert safety.check_prompt(request("a dragon")) == Verdict("PROHIBITED_CONTENT", "Dragons are not drawn here.")
    assert safety.check_image(Image.new("RGB", (8, 8), (220, 30, 30)), "x") is not None
    assert safety.check_image(Image.new("RGB", (8, 8), (30, 30, 220)), "x") is None
    with pytest.raises(ValueError, match="module:attribute"):
        load_hook("tests.safety_hooks", "PLANTAIN_IMAGE_CLASSIFIER")
    wrong = Safety(lambda texts: Verdict("IMAGE_SAFETY", "not a prompt reason"), None)
    with pytest.raises(TypeError, match="BLOCKLIST"):
        wrong.check_prompt(request("x"))
