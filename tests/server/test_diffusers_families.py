"""Real pipeline families (SANA, FLUX.2 klein, FLUX.1 Kontext) as tiny random-weight copies saved to a folder and
served through a catalog that points at it: the same from_pretrained path as real checkpoints."""

from __future__ import annotations

import importlib.util
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from google import genai
from google.genai import errors, types
from PIL import Image

from tests.server_process import API_KEY, running_server
from tests.tiny_pipelines import build_klein, build_kontext, build_sana

# A real server process, training or the model at length: `pytest -m "not slow"` skips it.
pytestmark = pytest.mark.slow

CATALOG = """
[models."tiny-sana"]
display_name = "tiny SANA"
family = "sana"
checkpoint = "{sana}"
licence = "test weights"
sizes = ["1K", "2K"]
can_edit = false
steps = 2
max_render_side = 64
call_options = {{ complex_human_instruction = [] }}
[models."tiny-sana".prices]
input_per_million_tokens = 0.0
output_per_million_tokens = 0.0

[models."tiny-klein"]
display_name = "tiny FLUX.2 klein"
family = "flux2-klein"
checkpoint = "{klein}"
licence = "test weights"
sizes = ["1K"]
can_edit = true
steps = 2
max_render_side = 64
call_options = {{ text_encoder_out_layers = [1] }}
[models."tiny-klein".prices]
input_per_million_tokens = 0.0
output_per_million_tokens = 0.0

[models."tiny-kontext"]
display_name = "tiny FLUX.1 Kontext"
family = "flux-kontext"
checkpoint = "{kontext}"
licence = "test weights"
sizes = ["1K"]
can_edit = true
max_input_images = 1
steps = 2
max_render_side = 64
call_options = {{ max_sequence_length = 32 }}
[models."tiny-kontext".prices]
input_per_million_tokens = 0.0
output_per_million_tokens = 0.0

[models."not-downloaded"]
display_name = "a real repo id, not in the offline cache"
family = "sana"
checkpoint = "Efficient-Large-Model/Sana_Sprint_0.6B_1024px_diffusers"
licence = "test weights"
sizes = ["1K"]
can_edit = false
[models."not-downloaded".prices]
input_per_million_tokens = 0.0
output_per_million_tokens = 0.0

[models."qwen-edit"]
display_name = "Qwen-Image-Edit from a folder"
family = "qwen-image-edit"
checkpoint = "{root}/qwen-edit"
licence = "test weights"
sizes = ["1K"]
can_edit = true
[models."qwen-edit".prices]
input_per_million_tokens = 0.0
output_per_million_tokens = 0.0
"""


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[genai.Client]:
    root = tmp_path_factory.mktemp("tiny")
    sana, klein, kontext = build_sana(root / "sana"), build_klein(root / "klein"), build_kontext(root / "kontext")
    catalog = root / "catalog.toml"
    catalog.write_text(CATALOG.format(sana=sana, klein=klein, kontext=kontext, root=root))
    env = {"PLANTAIN_CATALOG": str(catalog), "HF_HUB_OFFLINE": "1"}
    with running_server(env, log=root / "server.log") as base:
        yield genai.Client(api_key=API_KEY, http_options=types.HttpOptions(base_url=base))


def only_image(r: types.GenerateContentResponse) -> Image.Image:
    (cand,) = r.candidates or []
    (part,) = cand.content.parts or []  # type: ignore[union-attr]
    img = part.as_image()
    assert img is not None and img.image_bytes is not None
    return Image.open(io.BytesIO(img.image_bytes))


def test_sana_generates_the_requested_size(client: genai.Client) -> None:
    for ratio, size, expected in [("16:9", "1K", (1376, 768)), ("1:1", "2K", (2048, 2048))]:
        r = client.models.generate_content(
            model="tiny-sana",
            contents="a lighthouse at dusk",
            config=types.GenerateContentConfig(
                response_modalities=["IMAGE"], image_config=types.ImageConfig(aspect_ratio=ratio, image_size=size)
            ),
        )
        assert only_image(r).size == expected


def test_klein_generates_and_edits(client: genai.Client) -> None:
    cfg = types.GenerateContentConfig(response_modalities=["IMAGE"], seed=3)
    first = client.models.generate_content(model="tiny-klein", contents="a red kite", config=cfg)
    image = only_image(first)
    assert image.size == (1024, 1024)
    buf = io.BytesIO()
    image.resize((300, 200)).save(buf, format="PNG")
    edited = client.models.generate_content(
        model="tiny-klein",
        contents=[types.Part.from_bytes(data=buf.getvalue(), mime_type="image/png"), "make the kite blue"],
        config=cfg,
    )
    # No aspect ratio asked: the one closest to the input image's (3:2).
    assert only_image(edited).size == (1264, 848)
    again = client.models.generate_content(model="tiny-klein", contents="a red kite", config=cfg)
    assert only_image(again).tobytes() == image.tobytes()  # the same pixels (each file's manifest is its own)


def test_kontext_edits_at_the_input_ratio_and_keeps_its_limit(client: genai.Client) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (640, 480), (200, 30, 30)).save(buf, format="PNG")
    photo = types.Part.from_bytes(data=buf.getvalue(), mime_type="image/png")
    cfg = types.GenerateContentConfig(response_modalities=["IMAGE"], seed=4)
    edited = client.models.generate_content(model="tiny-kontext", contents=[photo, "make it blue"], config=cfg)
    assert only_image(edited).size == (1200, 896)  # 4:3, the supported ratio closest to 640x480
    again = client.models.generate_content(model="tiny-kontext", contents=[photo, "make it blue"], config=cfg)
    assert only_image(again).tobytes() == only_image(edited).tobytes()
    with pytest.raises(errors.ClientError) as info:
        client.models.generate_content(model="tiny-kontext", contents=[photo, photo, "make it blue"], config=cfg)
    assert info.value.code == 400 and "takes at most 1" in (info.value.message or "")


def test_a_model_that_cannot_edit_refuses_images(client: genai.Client) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (64, 64)).save(buf, format="PNG")
    with pytest.raises(errors.ClientError) as info:
        client.models.generate_content(
            model="tiny-sana", contents=[types.Part.from_bytes(data=buf.getvalue(), mime_type="image/png"), "edit"]
        )
    assert info.value.code == 400 and "cannot edit" in (info.value.message or "")


def test_a_model_that_cannot_load_is_unavailable_and_says_why(client: genai.Client) -> None:
    with pytest.raises(errors.ServerError) as info:
        client.models.generate_content(model="not-downloaded", contents="a lighthouse")
    assert info.value.code == 503 and info.value.status == "UNAVAILABLE"
    message = info.value.message or ""
    assert "not-downloaded" in message and "Efficient-Large-Model/Sana_Sprint_0.6B_1024px_diffusers" in message
    # The server stays up and the other models keep serving.
    cfg = types.GenerateContentConfig(response_modalities=["IMAGE"])
    served = client.models.generate_content(model="tiny-sana", contents="a lighthouse", config=cfg)
    assert only_image(served).size == (1024, 1024)


@pytest.mark.skipif(importlib.util.find_spec("torchvision") is not None, reason="torchvision is installed")
def test_a_family_missing_a_package_names_it(client: genai.Client) -> None:
    with pytest.raises(errors.ServerError) as info:
        client.models.generate_content(model="qwen-edit", contents="a lighthouse")
    assert info.value.code == 503 and "needs the Python package torchvision" in (info.value.message or "")


def test_models_carry_their_licence(client: genai.Client, tmp_path: Path) -> None:
    names = [m.name for m in client.models.list()]
    assert names == [
        "models/tiny-sana",
        "models/tiny-klein",
        "models/tiny-kontext",
        "models/not-downloaded",
        "models/qwen-edit",
    ]
