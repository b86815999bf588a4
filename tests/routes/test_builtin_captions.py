"""The built-in model at every aspect ratio: the built-in text under its images says what they show
(clients such as LangChain, the Vercel AI SDK and LiteLLM show that text to their users), and an image
it served wide or tall can be edited."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from plantain.api.app import create_app
from plantain.core.settings import Settings
from plantain.core.sizes import ASPECT_RATIOS
from plantain.mini.detect import detect
from plantain.mini.grammar import describe_scene


@pytest.fixture(scope="module")
def mini(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(auth="off", threads=2, data_dir=tmp_path_factory.mktemp("data"))
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.mark.parametrize("ratio", ASPECT_RATIOS)
def test_the_caption_describes_the_picture_at_every_ratio(mini: TestClient, ratio: str) -> None:
    payload = {
        "contents": [{"parts": [{"text": "a large red circle at the center on a sky background"}]}],
        "generationConfig": {"seed": 7, "imageConfig": {"aspectRatio": ratio, "imageSize": "512"}},
    }
    r = mini.post("/v1beta/models/plantain-mini:generateContent", json=payload)
    assert r.status_code == 200, r.text
    text, image = r.json()["candidates"][0]["content"]["parts"]
    scene = detect(centre(Image.open(io.BytesIO(base64.b64decode(image["inlineData"]["data"])))))
    assert scene.objects, "the picture shows the circle"
    assert text["text"] == describe_scene(scene)
    assert "outside the world" not in text["text"]


def centre(image: Image.Image) -> Image.Image:
    """The middle square of a picture: where the built-in model's world sits at any ratio."""
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    return image.crop((left, top, left + side, top + side))


def image_part(reply: dict[str, Any]) -> dict[str, Any]:
    part: dict[str, Any] = reply["candidates"][0]["content"]["parts"][0]
    return part


def picture(part: dict[str, Any]) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(part["inlineData"]["data"])))


def draw_then_edit(mini: TestClient, ratio: str) -> tuple[Image.Image, Image.Image]:
    config = {"responseModalities": ["IMAGE"], "seed": 3, "imageConfig": {"aspectRatio": ratio, "imageSize": "1K"}}
    url = "/v1beta/models/plantain-mini:generateContent"
    draw = [{"text": "a large red circle on a white background"}]
    drawn = image_part(mini.post(url, json={"contents": [{"parts": draw}], "generationConfig": config}).json())
    edit = [drawn, {"text": "change the background to black"}]
    edited = image_part(mini.post(url, json={"contents": [{"parts": edit}], "generationConfig": config}).json())
    return picture(drawn), picture(edited)


# Wide and tall ratios whose 1K size holds the 32-pixel square at a whole scale (768, 768 and 512
# pixels), so that the square read back is the native image exactly.
@pytest.mark.parametrize("ratio", ["16:9", "9:16", "4:1"])
def test_an_image_served_at_another_ratio_is_edited_as_its_square(mini: TestClient, ratio: str) -> None:
    square_drawn, square_edited = draw_then_edit(mini, "1:1")
    drawn, edited = draw_then_edit(mini, ratio)
    assert detect(centre(drawn)) == detect(square_drawn)
    assert detect(square_edited).background == "black"
    # The same square went in, so the same edit came out: the band around it was not squeezed in.
    assert detect(centre(edited)) == detect(square_edited)
