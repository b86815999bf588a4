"""Text parts: storyboard detection, scene descriptions and the built-in text backend."""

from __future__ import annotations

import pytest
from PIL import Image

from plantain.backends.base import PromptReading
from plantain.backends.diffusers_backend import DiffusersBackend
from plantain.backends.mini import MiniBackend
from plantain.core.sizes import ASPECT_RATIOS, pixel_size
from plantain.imaging.encode import upscale
from plantain.mini.grammar import describe_scene
from plantain.mini.render import render_image
from plantain.mini.world import Obj, Scene
from plantain.text.base import Message
from plantain.text.builtin import BuiltinText
from plantain.text.storyboard import panel_count


@pytest.mark.parametrize(
    ("prompt", "count"),
    [
        ("a 3-panel storyboard of a red circle rolling right", 3),
        ("A storyboard in four panels: a cat wakes up", 4),
        ("a comic strip with 2 panels", 2),
        ("three-panel comic of a kite", 3),
        ("a 4 panel sequence", 4),
        ("a red circle", None),
        ("two red circles", None),
        ("a 12-panel comic", None),  # more than we plan
        ("a storyboard", None),  # no count
    ],
)
def test_panel_count(prompt: str, count: int | None) -> None:
    assert panel_count(prompt) == count


def test_describe_scene() -> None:
    one = Scene("white", (Obj(3, "circle", "red", "small"),))
    assert describe_scene(one) == "A small red circle at the left on a white background."
    two = Scene("sky", (Obj(0, "square", "blue", "large"), Obj(8, "diamond", "pink", "small")))
    assert describe_scene(two) == (
        "Two objects on a sky background: a large blue square at the top left and a small pink diamond at the "
        "bottom right."
    )
    assert describe_scene(Scene("black")) == "An empty picture on a black background."


def test_builtin_caption_says_what_the_family_reads_else_the_prompt() -> None:
    assert BuiltinText().caption("a red circle", Image.new("RGB", (8, 8)), "A red circle.") == "A red circle."
    assert BuiltinText().caption("a kite", Image.new("RGB", (8, 8)), None) == "Here is the image for: a kite"


def test_mini_family_reads_its_image_not_the_prompt() -> None:
    scene = Scene("gray", (Obj(4, "triangle", "yellow", "large"),))
    text = MiniBackend.describe(render_image(scene, 1024))
    assert text == "A large yellow triangle at the center on a gray background."


@pytest.mark.parametrize("ratio", ASPECT_RATIOS)
def test_mini_family_reads_its_image_at_every_aspect_ratio(ratio: str) -> None:
    """A served image of another shape holds the square world centred in a band of its background:
    the description is the scene's, never an empty picture "outside the world"."""
    scene = Scene("sky", (Obj(0, "square", "blue", "large"), Obj(8, "circle", "red", "small")))
    for tier in ("512", "1K"):
        served = upscale(render_image(scene), pixel_size(ratio, tier), "nearest")
        text = MiniBackend.describe(served)
        assert text == describe_scene(scene), (ratio, tier, text)


def test_mini_family_reads_prompts() -> None:
    reading = MiniBackend.read_prompt("Two green squares on a beige background.")
    assert reading.description is not None and not reading.needs_image
    assert reading.description.startswith(
        "I would draw two green squares on a beige background. For example: Two objects"
    )
    assert reading == MiniBackend.read_prompt("two green squares on a beige background")
    edit = MiniBackend.read_prompt("make the circle blue")
    assert edit.needs_image and edit.description is not None and "edit" in edit.description
    assert reading.plan == (
        "Reading the prompt in my world's grammar: 2 green squares, each of a size and place of my choosing, "
        "on a beige background."
    )
    story = MiniBackend.read_prompt("tell me a story")
    assert story.description is None and not story.needs_image
    assert story.plan is not None and "outside my world's grammar" in story.plan
    assert DiffusersBackend.read_prompt("make the circle blue") == PromptReading()


def test_builtin_reply() -> None:
    text = BuiltinText()
    assert text.reply([Message("user", "two green squares")], "I would draw two green squares.") == (
        "I would draw two green squares."
    )
    assert "PLANTAIN_TEXT_URL" in text.reply([Message("user", "tell me a story")], None)
    assert text.plan_panels("a 3-panel storyboard", 3) is None
