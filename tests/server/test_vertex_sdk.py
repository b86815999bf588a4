"""google-genai in Vertex AI express mode (`vertexai=True`, an API key, a base URL) against a real
`plantain serve`: Gemini calls on Vertex paths, thinking, and Imagen's generate, edit and upscale."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
from google import genai
from google.genai import errors, types
from PIL import Image

from plantain.mini.detect import detect
from tests.server_process import API_KEY

# A real server process, training or the model at length: `pytest -m "not slow"` skips it.
pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::google.genai._common.ExperimentalWarning")]


@pytest.fixture(scope="module")
def client(server: str) -> genai.Client:
    return genai.Client(vertexai=True, api_key=API_KEY, http_options=types.HttpOptions(base_url=server))


def png(image: Image.Image) -> types.Image:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return types.Image(image_bytes=buf.getvalue(), mime_type="image/png")


def pil(image: types.Image | None) -> Image.Image:
    assert image is not None and image.image_bytes is not None
    return Image.open(io.BytesIO(image.image_bytes))


def test_generate_content_stream_count_and_models(client: genai.Client) -> None:
    r = client.models.generate_content(
        model="gemini-2.5-flash-image",
        contents="a red circle at the left",
        config=types.GenerateContentConfig(seed=1),  # a drawing that reads back (most, not all, seeds do)
    )
    assert r.model_version == "gemini-3.1-flash-lite-image"  # the alias's entry served it
    (image,) = [p.as_image() for p in r.candidates[0].content.parts if p.inline_data]  # type: ignore[index,union-attr]
    scene = detect(pil(image).resize((32, 32), Image.Resampling.BOX))
    assert any(o.shape == "circle" and o.colour == "red" for o in scene.objects)
    chunks = list(client.models.generate_content_stream(model="gemini-3.1-flash-lite-image", contents="a blue square"))
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP  # type: ignore[index]
    assert client.models.count_tokens(model="gemini-3.1-flash-lite-image", contents="hello").total_tokens == 1
    assert client.models.get(model="imagen-3.0-generate-002").name == "publishers/google/models/imagen-3.0-generate-002"
    names = [m.name for m in client.models.list()]
    assert "publishers/google/models/gpt-image-1" in names and "publishers/google/models/plantain-mini" in names
    with pytest.raises(errors.ClientError) as missing:
        client.models.generate_content(model="gemini-9", contents="x")
    assert missing.value.code == 404


def test_thinking_shows_the_plan_and_the_image_forming(client: genai.Client) -> None:
    config = types.GenerateContentConfig(thinking_config=types.ThinkingConfig(include_thoughts=True))
    r = client.models.generate_content(model="gemini-3.1-flash-lite-image", contents="two red circles", config=config)
    parts = r.candidates[0].content.parts  # type: ignore[index,union-attr]
    assert parts[0].thought and "circle" in (parts[0].text or "")
    assert r.usage_metadata is not None and (r.usage_metadata.thoughts_token_count or 0) > 0
    chunks = list(
        client.models.generate_content_stream(
            model="gemini-3.1-flash-lite-image", contents="a pink diamond", config=config
        )
    )
    thoughts = [p for c in chunks[:-1] for p in c.candidates[0].content.parts]  # type: ignore[index,union-attr]
    assert all(p.thought for p in thoughts) and sum(1 for p in thoughts if p.inline_data) == 2
    final = chunks[-1].candidates[0].content.parts  # type: ignore[index,union-attr]
    assert not any(p.thought for p in final) and any(p.inline_data for p in final)


def test_generate_images(client: genai.Client) -> None:
    config = types.GenerateImagesConfig(number_of_images=2, aspect_ratio="16:9", output_mime_type="image/jpeg")
    r = client.models.generate_images(model="imagen-4.0-generate-001", prompt="three blue squares", config=config)
    images = [pil(g.image) for g in r.generated_images or []]
    assert [im.size for im in images] == [(1376, 768)] * 2 and images[0].format == "JPEG"
    default = client.models.generate_images(model="imagen-4.0-fast-generate-001", prompt="a red circle")
    assert len(default.generated_images or []) == 4  # Imagen's default sampleCount
    enhanced = client.models.generate_images(
        model="imagen-3.0-generate-002",
        prompt="a green triangle",
        config=types.GenerateImagesConfig(number_of_images=1, enhance_prompt=True),
    )
    assert enhanced.generated_images[0].enhanced_prompt  # type: ignore[index]


def test_edit_image_with_a_mask_keeps_everything_outside_it(client: genai.Client) -> None:
    source = Image.fromarray(np.random.default_rng(3).integers(0, 255, (64, 64, 3), dtype=np.uint8))
    mask = Image.new("L", (64, 64), 0)
    mask.paste(255, (16, 16, 48, 48))  # white: the area to edit
    r = client.models.edit_image(
        model="imagen-3.0-generate-002",
        prompt="a red circle",
        reference_images=[
            types.RawReferenceImage(reference_id=1, reference_image=png(source)),
            types.MaskReferenceImage(
                reference_id=2,
                reference_image=png(mask),
                config=types.MaskReferenceConfig(mask_mode=types.MaskReferenceMode.MASK_MODE_USER_PROVIDED),
            ),
        ],
        config=types.EditImageConfig(number_of_images=1, edit_mode=types.EditMode.EDIT_MODE_INPAINT_INSERTION),
    )
    out = np.asarray(pil(r.generated_images[0].image).convert("RGB"))  # type: ignore[index]
    keep = np.asarray(mask) == 0
    assert out.shape == (64, 64, 3) and np.array_equal(out[keep], np.asarray(source)[keep])
    with pytest.raises(errors.ClientError) as refused:
        client.models.edit_image(
            model="imagen-3.0-generate-002",
            prompt="x",
            reference_images=[
                types.RawReferenceImage(reference_id=1, reference_image=png(source)),
                types.MaskReferenceImage(
                    reference_id=2,
                    config=types.MaskReferenceConfig(mask_mode=types.MaskReferenceMode.MASK_MODE_BACKGROUND),
                ),
            ],
        )
    assert refused.value.code == 400 and "segmentation" in (refused.value.message or "")


def test_upscale_image_through_the_catalogs_upscaler(client: genai.Client) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        small = client.models.generate_images(
            model="plantain-mini", prompt="a red circle", config=types.GenerateImagesConfig(number_of_images=1)
        )
    source = pil(small.generated_images[0].image).resize((256, 256))  # type: ignore[index]
    r = client.models.upscale_image(model="imagen-4.0-upscale-preview", image=png(source), upscale_factor="x4")
    assert pil(r.generated_images[0].image).size == (1024, 1024)  # type: ignore[index]
    with pytest.raises(errors.ClientError):
        client.models.upscale_image(model="gemini-3.1-flash-lite-image", image=png(source), upscale_factor="x2")
