"""The real google-genai SDK against a real `plantain serve`, with only the endpoint changed."""

from __future__ import annotations

import io

import pytest
from google import genai
from google.genai import errors, types
from PIL import Image

from plantain.core.catalog import load_catalog
from plantain.mini.detect import detect
from tests.server.replies import image_bytes
from tests.server_process import API_KEY

# A real server process, training or the model at length: `pytest -m "not slow"` skips it.
pytestmark = pytest.mark.slow

LITE = "gemini-3.1-flash-lite-image"
FULL = "gemini-3.1-flash-image-preview"


@pytest.fixture(scope="module")
def client(server: str) -> genai.Client:
    return genai.Client(api_key=API_KEY, http_options=types.HttpOptions(base_url=server))


@pytest.fixture(scope="module")
def beta_client(server: str) -> genai.Client:
    return genai.Client(api_key=API_KEY, http_options=types.HttpOptions(base_url=server, api_version="v1beta"))


def images_of(response: types.GenerateContentResponse) -> list[Image.Image]:
    out = []
    for cand in response.candidates or []:
        for part in cand.content.parts or []:  # type: ignore[union-attr]
            img = part.as_image()
            if img is not None:
                assert img.mime_type == "image/png"
                out.append(Image.open(io.BytesIO(img.image_bytes)))  # type: ignore[arg-type]
    return out


def config(**kw: object) -> types.GenerateContentConfig:
    return types.GenerateContentConfig(response_modalities=["TEXT", "IMAGE"], **kw)  # type: ignore[arg-type]


def test_generate_content_draws_the_prompt(client: genai.Client) -> None:
    r = client.models.generate_content(
        model=LITE,
        contents="a large red circle at the left on a white background",
        config=config(image_config=types.ImageConfig(aspect_ratio="1:1", image_size="1K"), seed=1),
    )
    (image,) = images_of(r)
    assert image.size == (1024, 1024)
    scene = detect(image)
    assert scene.background == "white" and any(o.kind == ("red", "circle") for o in scene.objects), scene
    assert r.model_version == LITE
    assert r.response_id
    assert r.candidates[0].finish_reason == types.FinishReason.STOP  # type: ignore[index]
    assert r.candidates[0].content.role == "model"  # type: ignore[index,union-attr]
    usage = r.usage_metadata
    assert usage is not None and usage.candidates_tokens_details is not None
    out = {d.modality: d.token_count for d in usage.candidates_tokens_details}
    assert out[types.MediaModality.IMAGE] == 1120 and out[types.MediaModality.TEXT] > 0  # the image and its text
    assert usage.candidates_token_count == 1120 + out[types.MediaModality.TEXT]  # type: ignore[operator]
    assert usage.total_token_count == usage.prompt_token_count + usage.candidates_token_count  # type: ignore[operator]
    assert usage.prompt_tokens_details[0].modality == types.MediaModality.TEXT  # type: ignore[index]


def test_v1beta_and_sizes_of_the_full_model(beta_client: genai.Client) -> None:
    for ratio, size, expected in [
        ("16:9", "2K", (2752, 1536)),
        ("3:4", "512", (448, 600)),
        ("21:9", "1K", (1584, 672)),
    ]:
        r = beta_client.models.generate_content(
            model=FULL,
            contents="two blue squares",
            config=config(image_config=types.ImageConfig(aspect_ratio=ratio, image_size=size), seed=2),
        )
        (image,) = images_of(r)
        assert image.size == expected


def test_seed_gives_the_same_pixels_and_candidates_differ(client: genai.Client) -> None:
    def once() -> list[bytes]:
        r = client.models.generate_content(
            model="plantain-mini", contents="three green triangles", config=config(seed=42, candidate_count=2)
        )
        assert [c.index for c in r.candidates or []] == [0, 1]
        details = r.usage_metadata.candidates_tokens_details  # type: ignore[union-attr]
        assert {d.modality: d.token_count for d in details or []}[types.MediaModality.IMAGE] == 2 * 1120
        # The pixels: each file's signed manifest is its own (an instance ID, a fresh signature).
        return [Image.open(io.BytesIO(image_bytes(c))).tobytes() for c in r.candidates or []]

    first, second = once(), once()
    assert first == second
    assert first[0] != first[1]


def test_count_tokens_matches_usage(client: genai.Client) -> None:
    png = io.BytesIO()
    Image.new("RGB", (64, 64), (245, 245, 245)).save(png, format="PNG")
    contents = [types.Part.from_bytes(data=png.getvalue(), mime_type="image/png"), "add a red square at the top"]
    counted = client.models.count_tokens(model=LITE, contents=contents)
    r = client.models.generate_content(model=LITE, contents=contents, config=config(seed=0))
    assert counted.total_tokens == r.usage_metadata.prompt_token_count  # type: ignore[union-attr]
    assert counted.total_tokens == 1120 + r.usage_metadata.prompt_tokens_details[0].token_count  # type: ignore[union-attr,index,operator]


def test_models_list_pages_and_get(client: genai.Client) -> None:
    names = [m.name for m in client.models.list(config={"page_size": 1})]
    # Every entry, each followed by the other names it answers to.
    assert names == [f"models/{name}" for name, _ in load_catalog().names()]
    assert names[:2] == [f"models/{LITE}", "models/gpt-image-1-mini"] and "models/plantain-mini" in names
    assert client.models.get(model="dall-e-3").display_name == f"dall-e-3 (served by {FULL})"
    model = client.models.get(model=LITE)
    assert model.display_name == "Nano Banana 2 Lite"
    assert model.input_token_limit == 65536
    assert "generateContent" in (model.supported_actions or [])


def test_edit_a_generated_image(client: genai.Client) -> None:
    first = client.models.generate_content(
        model=LITE, contents="a large red circle at the left on a white background", config=config(seed=1)
    )
    data = image_bytes(first.candidates[0])  # type: ignore[index]
    edited = client.models.generate_content(
        model=LITE,
        contents=[types.Part.from_bytes(data=data, mime_type="image/png"), "make the circle blue"],
        config=config(seed=5),
    )
    (image,) = images_of(edited)
    assert image.size == (1024, 1024)
    source = Image.open(io.BytesIO(data))
    assert image.tobytes() != source.tobytes()
    detect(image)  # read back by the world's detector


def expect_error(code: int, status: str, call: object, *args: object, **kwargs: object) -> errors.ClientError:
    with pytest.raises(errors.ClientError) as info:
        call(*args, **kwargs)  # type: ignore[operator]
    assert info.value.code == code, info.value
    assert info.value.status == status
    assert "Traceback" not in str(info.value.details)
    return info.value


def test_unknown_model_is_404(client: genai.Client) -> None:
    e = expect_error(404, "NOT_FOUND", client.models.generate_content, model="no-such-model", contents="x")
    assert "models/no-such-model is not found" in e.message  # type: ignore[operator]
    expect_error(404, "NOT_FOUND", client.models.get, model="no-such-model")


def test_lite_refuses_2k_naming_what_it_allows(client: genai.Client) -> None:
    e = expect_error(
        400, "INVALID_ARGUMENT", client.models.generate_content, model=LITE, contents="a red circle",
        config=config(image_config=types.ImageConfig(image_size="2K")),
    )  # fmt: skip
    assert "supported: 1K" in e.message  # type: ignore[operator]


@pytest.mark.parametrize(
    ("image_config", "needle"),
    [
        (types.ImageConfig(aspect_ratio="7:3"), "1:1, 2:3"),
        (types.ImageConfig(image_size="1k"), "upper-case K"),
    ],
)
def test_bad_image_config(client: genai.Client, image_config: types.ImageConfig, needle: str) -> None:
    e = expect_error(
        400, "INVALID_ARGUMENT", client.models.generate_content, model=FULL, contents="a red circle",
        config=config(image_config=image_config),
    )  # fmt: skip
    assert needle in e.message  # type: ignore[operator]


def test_too_many_candidates(client: genai.Client) -> None:
    e = expect_error(
        400, "INVALID_ARGUMENT", client.models.generate_content, model=LITE, contents="a red circle",
        config=config(candidate_count=9),
    )  # fmt: skip
    assert "between 1 and 4" in e.message  # type: ignore[operator]


def test_unsupported_mime_type(client: genai.Client) -> None:
    part = types.Part.from_bytes(data=b"GIF89a....", mime_type="image/gif")
    e = expect_error(400, "INVALID_ARGUMENT", client.models.generate_content, model=LITE, contents=[part, "edit"])
    assert "image/gif" in e.message  # type: ignore[operator]


def test_undecodable_image(client: genai.Client) -> None:
    part = types.Part.from_bytes(data=b"\x89PNG\r\n\x1a\n not really", mime_type="image/png")
    e = expect_error(400, "INVALID_ARGUMENT", client.models.generate_content, model=LITE, contents=[part, "edit"])
    assert "cannot be decoded" in e.message or "damaged" in e.message  # type: ignore[operator]


def test_image_over_the_pixel_limit(client: genai.Client) -> None:
    png = io.BytesIO()
    Image.new("1", (8000, 8000)).save(png, format="PNG")  # 64M pixels in a few kilobytes
    part = types.Part.from_bytes(data=png.getvalue(), mime_type="image/png")
    e = expect_error(400, "INVALID_ARGUMENT", client.models.generate_content, model=LITE, contents=[part, "edit"])
    assert "over the limit" in e.message  # type: ignore[operator]


def test_too_many_input_tokens(client: genai.Client) -> None:
    text = "circle " * 70_000
    e = expect_error(400, "INVALID_ARGUMENT", client.models.count_tokens, model=LITE, contents=text)
    assert "exceeds the maximum number of tokens allowed (65536)" in e.message  # type: ignore[operator]
    expect_error(400, "INVALID_ARGUMENT", client.models.generate_content, model=LITE, contents=text)


def test_wrong_key_is_400_api_key_invalid(server: str) -> None:
    bad = genai.Client(api_key="wrong", http_options=types.HttpOptions(base_url=server))
    e = expect_error(400, "INVALID_ARGUMENT", bad.models.generate_content, model=LITE, contents="a red circle")
    assert e.details["error"]["details"][0]["reason"] == "API_KEY_INVALID"  # type: ignore[index]


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_input_image_formats(client: genai.Client, fmt: str) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (96, 96), (245, 245, 245)).save(buf, format=fmt)
    part = types.Part.from_bytes(data=buf.getvalue(), mime_type=f"image/{fmt.lower()}")
    r = client.models.generate_content(
        model=LITE, contents=[part, "add a red square at the top"], config=config(seed=0)
    )
    (image,) = images_of(r)
    assert image.size == (1024, 1024)
