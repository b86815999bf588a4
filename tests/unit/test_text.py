"""Text parts: storyboard detection, scene descriptions and the built-in text backend."""

from __future__ import annotations

import pytest

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


def test_builtin_caption_reads_the_image_not_the_prompt() -> None:
    scene = Scene("gray", (Obj(4, "triangle", "yellow", "large"),))
    text = BuiltinText().caption("a red circle", render_image(scene, 1024), "mini")
    assert text == "A large yellow triangle at the center on a gray background."
    assert BuiltinText().caption("a kite", render_image(scene), "flux2-klein") == "Here is the image for: a kite"


def test_builtin_reply() -> None:
    text = BuiltinText()
    reply = text.reply([Message("user", "Two green squares on a beige background.")], "mini")
    assert reply.startswith("I would draw two green squares on a beige background. For example: Two objects")
    assert reply == text.reply([Message("user", "two green squares on a beige background")], "mini")
    assert "edit" in text.reply([Message("user", "make the circle blue")], "mini")
    assert "PLANTAIN_TEXT_URL" in text.reply([Message("user", "tell me a story")], "mini")
    assert text.plan_panels("a 3-panel storyboard", 3, "mini") is None
