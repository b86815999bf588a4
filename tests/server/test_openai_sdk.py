"""The real `openai` SDK against a real `plantain serve`, with only the base URL changed: generate,
edit with a mask, stream partial images, URLs, and errors as the SDK's own exceptions."""

from __future__ import annotations

import base64
import io

import httpx
import numpy as np
import openai
import pytest
from PIL import Image

from plantain.mini.detect import detect
from tests.server_process import API_KEY

# A real server process, training or the model at length: `pytest -m "not slow"` skips it.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client(server: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server}/v1", api_key=API_KEY, max_retries=0)


def decoded(b64: str | None) -> Image.Image:
    assert b64 is not None
    return Image.open(io.BytesIO(base64.b64decode(b64)))


def png_bytes(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.parametrize("model", ["gpt-image-1", "gpt-image-1-mini", "dall-e-3", "dall-e-2"])
def test_generate_draws_the_prompt_under_the_names_apps_ship(client: openai.OpenAI, model: str) -> None:
    r = client.images.generate(
        model=model,
        prompt="a red circle at the left",
        size="1024x1024",
        response_format="b64_json",
        extra_body={"seed": 11},
    )
    image = decoded(r.data[0].b64_json)  # type: ignore[index]
    assert image.size == (1024, 1024) and r.size == "1024x1024"
    scene = detect(image.resize((32, 32), Image.Resampling.BOX))
    assert any(o.shape == "circle" and o.colour == "red" for o in scene.objects)
    assert r.usage is not None and r.usage.output_tokens > 0 and r._request_id


def test_sizes_in_pixels_are_drawn_exactly(client: openai.OpenAI) -> None:
    r = client.images.generate(model="gpt-image-1", prompt="three blue squares", size="1536x1024", n=2)
    assert [decoded(d.b64_json).size for d in r.data or []] == [(1536, 1024)] * 2


def test_an_edit_with_a_mask_changes_nothing_outside_it(client: openai.OpenAI) -> None:
    source = Image.fromarray(np.random.default_rng(0).integers(0, 255, (96, 128, 3), dtype=np.uint8))
    mask = Image.new("RGBA", source.size, (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (32, 24, 96, 72))
    r = client.images.edit(
        model="gpt-image-1",
        image=("photo.png", png_bytes(source), "image/png"),
        mask=("mask.png", png_bytes(mask), "image/png"),
        prompt="add a red circle",
    )
    out = np.asarray(decoded(r.data[0].b64_json).convert("RGB"))  # type: ignore[index]
    keep = np.asarray(mask)[..., 3] == 255
    assert out.shape == (96, 128, 3)
    assert np.array_equal(out[keep], np.asarray(source)[keep])
    assert not np.array_equal(out[~keep], np.asarray(source)[~keep])


def test_an_edit_takes_several_images(client: openai.OpenAI) -> None:
    a = Image.new("RGB", (64, 64), "white")
    b = Image.new("RGB", (96, 64), "white")
    r = client.images.edit(
        model="gemini-2.5-flash-image",
        image=[("a.png", png_bytes(a), "image/png"), ("b.png", png_bytes(b), "image/png")],
        prompt="make the background yellow",
        size="auto",
    )
    assert r.usage is not None and r.usage.input_tokens_details.image_tokens == 2 * 1120


def test_a_stream_sends_real_previews_then_the_image(client: openai.OpenAI) -> None:
    stream = client.images.generate(
        model="gpt-image-1", prompt="a green triangle", stream=True, partial_images=2, size="512x512"
    )
    events = list(stream)
    assert [e.type for e in events] == ["image_generation.partial_image"] * 2 + ["image_generation.completed"]
    previews = [np.asarray(decoded(e.b64_json), dtype=np.int16) for e in events]
    final = previews[-1]
    # Each preview is nearer the final image than the one before: the image forming.
    distances = [np.abs(p - final).mean() for p in previews[:-1]]
    assert distances[0] > distances[1] > 0
    assert events[-1].usage.total_tokens > 0  # type: ignore[union-attr]


def test_an_edit_streams(client: openai.OpenAI) -> None:
    image = Image.new("RGB", (64, 64), "white")
    events = list(
        client.images.edit(
            model="gpt-image-1",
            image=("a.png", png_bytes(image), "image/png"),
            prompt="add a blue square",
            stream=True,
            partial_images=1,
        )
    )
    assert [e.type for e in events] == ["image_edit.partial_image", "image_edit.completed"]


def test_url_replies_are_fetchable(client: openai.OpenAI) -> None:
    r = client.images.generate(model="gpt-image-1", prompt="a pink diamond", response_format="url", size="256x256")
    url = r.data[0].url  # type: ignore[index]
    assert url is not None
    got = httpx.get(url)
    assert got.status_code == 200 and Image.open(io.BytesIO(got.content)).size == (256, 256)


def test_errors_are_the_sdks_own_exceptions(client: openai.OpenAI, server: str) -> None:
    with pytest.raises(openai.BadRequestError) as bad:
        client.images.generate(model="gpt-image-1-mini", prompt="x", size="4096x4096")
    assert bad.value.code == "invalid_value" and bad.value.param == "size"
    assert "1024x1024" in bad.value.message
    with pytest.raises(openai.NotFoundError) as missing:
        client.images.generate(model="dall-e-9", prompt="x")
    assert missing.value.code == "model_not_found"
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{server}/v1", api_key="wrong", max_retries=0).images.generate(prompt="x")
    with pytest.raises(openai.BadRequestError) as unknown:
        client.images.generate(prompt="x", extra_body={"colour": "red"})
    assert unknown.value.code == "unknown_parameter" and unknown.value.param == "colour"
