"""The built-in text under the built-in model's images says what they show, at every aspect ratio:
clients (LangChain, the Vercel AI SDK, LiteLLM) show that text to their users."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from plantain.api.app import create_app
from plantain.core.settings import Settings
from plantain.core.sizes import ASPECT_RATIOS
from plantain.mini.detect import detect
from plantain.mini.grammar import describe_scene


@pytest.fixture(scope="module")
def mini() -> Iterator[TestClient]:
    with TestClient(create_app(Settings(auth="off", threads=2))) as c:
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
    picture = Image.open(io.BytesIO(base64.b64decode(image["inlineData"]["data"])))
    side = min(picture.size)
    left, top = (picture.width - side) // 2, (picture.height - side) // 2
    scene = detect(picture.crop((left, top, left + side, top + side)))
    assert scene.objects, "the picture shows the circle"
    assert text["text"] == describe_scene(scene)
    assert "outside the world" not in text["text"]
