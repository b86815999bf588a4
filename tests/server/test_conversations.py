"""Editing, tiers and conversations through the google-genai SDK, against a real server.

Multi-turn chats keep one picture coherent, the lite tier drafts and the full tier renders the draft
at 4K, candidates are variants drawn in one device batch, and text parts come from the built-in text
backend or from an OpenAI-compatible chat server. Images are read back with the world's detector.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from google import genai
from google.genai import errors, types
from PIL import Image

from plantain.mini.detect import detect
from plantain.mini.world import Obj, Scene
from tests.chat_server import chat_server
from tests.server.replies import image_bytes, image_of, texts_of
from tests.server_process import API_KEY, running_server

# A real server process, training or the model at length: `pytest -m "not slow"` skips it.
pytestmark = pytest.mark.slow

LITE, FULL = "gemini-3.1-flash-lite-image", "gemini-3.1-flash-image-preview"
LEFT, CENTER, RIGHT = 3, 4, 5

# Google's published pixel sizes of the Gemini 3 image models (shared spec, section 5.2).
GOOGLE_SIZES = {
    "1:1": ((1024, 1024), (2048, 2048), (4096, 4096)),
    "2:3": ((848, 1264), (1696, 2528), (3392, 5056)),
    "3:2": ((1264, 848), (2528, 1696), (5056, 3392)),
    "3:4": ((896, 1200), (1792, 2400), (3584, 4800)),
    "4:3": ((1200, 896), (2400, 1792), (4800, 3584)),
    "4:5": ((928, 1152), (1856, 2304), (3712, 4608)),
    "5:4": ((1152, 928), (2304, 1856), (4608, 3712)),
    "9:16": ((768, 1376), (1536, 2752), (3072, 5504)),
    "16:9": ((1376, 768), (2752, 1536), (5504, 3072)),
    "21:9": ((1584, 672), (3168, 1344), (6336, 2688)),
}


def client_for(base: str) -> genai.Client:
    return genai.Client(api_key=API_KEY, http_options=types.HttpOptions(base_url=base))


@pytest.fixture(scope="module")
def client(server: str) -> genai.Client:
    return client_for(server)


def cfg(**kw: Any) -> types.GenerateContentConfig:
    return types.GenerateContentConfig(**kw)


def only_candidate(r: types.GenerateContentResponse) -> types.Candidate:
    (cand,) = r.candidates or []
    return cand


def png_part(image: Image.Image) -> types.Part:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return types.Part.from_bytes(data=buf.getvalue(), mime_type="image/png")


def test_chat_edits_the_last_image_and_keeps_signed_history(client: genai.Client) -> None:
    chat = client.chats.create(model=LITE, config=cfg(seed=11))
    first = detect(image_of(only_candidate(chat.send_message("a red circle at the left on a white background"))))
    second = only_candidate(chat.send_message("change the background to sky"))
    assert detect(image_of(second)) == Scene("sky", first.objects)
    assert "sky background" in " ".join(texts_of(second))
    history = chat.get_history()
    assert [c.role for c in history] == ["user", "model"] * 2
    signed = [p for c in history if c.role == "model" for p in c.parts or [] if p.inline_data]
    assert len(signed) == 2 and all(p.thought_signature for p in signed)


def test_chat_keeps_the_picture_through_edits(client: genai.Client) -> None:
    chat = client.chats.create(model=LITE, config=cfg(seed=11))
    first = only_candidate(chat.send_message("a red circle at the left on a white background"))
    (circle,) = detect(image_of(first)).objects
    assert (circle.cell, circle.kind) == (LEFT, ("red", "circle"))
    assert detect(image_of(first)).background == "white"

    second = only_candidate(chat.send_message("make the circle blue"))
    assert detect(image_of(second)) == Scene("white", (Obj(LEFT, "circle", "blue", circle.size),))

    third = only_candidate(chat.send_message("move the circle to the right"))
    assert detect(image_of(third)) == Scene("white", (Obj(RIGHT, "circle", "blue", circle.size),))
    # Each answer's text describes its own image, and the history the SDK keeps carries our signatures.
    assert "blue circle at the right" in " ".join(texts_of(third))
    history = chat.get_history()
    assert [c.role for c in history] == ["user", "model"] * 3
    signed = [p for c in history if c.role == "model" for p in c.parts or [] if p.inline_data]
    assert len(signed) == 3 and all(p.thought_signature for p in signed)


def test_history_images_are_edit_sources_even_without_signatures(client: genai.Client) -> None:
    """The server is stateless: a model image sent back by hand (no signature) is the edit source."""
    draft = only_candidate(
        client.models.generate_content(model=LITE, contents="a green square at the top", config=cfg(seed=3))
    )
    scene = detect(image_of(draft))
    contents = [
        types.Content(role="user", parts=[types.Part(text="a green square at the top")]),
        types.Content(role="model", parts=[png_part(image_of(draft))]),
        types.Content(role="user", parts=[types.Part(text="change the background to black")]),
    ]
    edited = only_candidate(client.models.generate_content(model=LITE, contents=contents, config=cfg(seed=4)))
    assert detect(image_of(edited)) == Scene("black", scene.objects)


def test_full_model_serves_every_ratio_at_google_sizes(client: genai.Client) -> None:
    for ratio, sizes in GOOGLE_SIZES.items():
        for tier, expected in zip(("1K", "2K", "4K"), sizes, strict=True):
            r = client.models.generate_content(
                model=FULL,
                contents="a yellow diamond",
                config=cfg(
                    response_modalities=["IMAGE"],
                    seed=1,
                    image_config=types.ImageConfig(aspect_ratio=ratio, image_size=tier),
                ),
            )
            assert image_of(only_candidate(r)).size == expected, (ratio, tier)


def test_lite_refuses_4k_naming_what_it_allows(client: genai.Client) -> None:
    with pytest.raises(errors.ClientError) as info:
        client.models.generate_content(
            model=LITE, contents="a red circle", config=cfg(image_config=types.ImageConfig(image_size="4K"))
        )
    assert info.value.code == 400 and info.value.status == "INVALID_ARGUMENT"
    assert "supported: 1K" in str(info.value.message)


def test_lite_draft_rendered_at_4k_by_the_full_model(client: genai.Client) -> None:
    draft = only_candidate(
        client.models.generate_content(
            model=LITE, contents="two pink triangles on a beige background", config=cfg(seed=21)
        )
    )
    draft_scene = detect(image_of(draft))
    final = only_candidate(
        client.models.generate_content(
            model=FULL,
            contents=[png_part(image_of(draft)), "render this at 4K"],
            config=cfg(seed=22, image_config=types.ImageConfig(image_size="4K")),
        )
    )
    image = image_of(final)
    assert image.size == (4096, 4096)
    assert detect(image) == draft_scene  # detect() box-downsamples to the model's canvas first


def test_candidates_are_distinct_variants_from_one_batch(client: genai.Client) -> None:
    r = client.models.generate_content(
        model=LITE, contents="a large orange circle on a gray background", config=cfg(seed=5, candidate_count=4)
    )
    cands = r.candidates or []
    assert len(cands) == 4
    assert r.sdk_http_response is not None and r.sdk_http_response.headers is not None
    assert r.sdk_http_response.headers["x-plantain-batch-size"] == "4"
    assert len({image_bytes(c) for c in cands}) == 4
    for c in cands:
        scene = detect(image_of(c))
        assert scene.background == "gray"
        assert ("orange", "circle") in [o.kind for o in scene.objects], scene
        assert texts_of(c) and "orange circle" in texts_of(c)[0]
    assert r.usage_metadata is not None and r.usage_metadata.candidates_tokens_details is not None
    by_modality = {d.modality: d.token_count for d in r.usage_metadata.candidates_tokens_details}
    assert by_modality[types.MediaModality.IMAGE] == 4 * 1120
    assert by_modality[types.MediaModality.TEXT] > 0


def test_image_only_has_no_text_and_text_only_has_no_image(client: genai.Client) -> None:
    image_only = only_candidate(
        client.models.generate_content(model=LITE, contents="a blue square", config=cfg(response_modalities=["IMAGE"]))
    )
    assert texts_of(image_only) == []
    image_bytes(image_only)
    text_only = client.models.generate_content(
        model=LITE, contents="a blue square at the top", config=cfg(response_modalities=["TEXT"])
    )
    cand = only_candidate(text_only)
    assert not [p for p in cand.content.parts or [] if p.inline_data]  # type: ignore[union-attr]
    assert "a blue square at the top" in (text_only.text or "")
    assert text_only.usage_metadata is not None and text_only.usage_metadata.candidates_token_count


def test_an_edit_without_an_image_is_400(client: genai.Client) -> None:
    with pytest.raises(errors.ClientError) as info:
        client.models.generate_content(model=LITE, contents="make the circle blue")
    assert info.value.code == 400 and "no image to edit" in str(info.value.message)


def test_an_undecodable_image_in_a_user_turn_is_400(client: genai.Client) -> None:
    contents = [
        types.Content(role="user", parts=[types.Part(text="a red circle")]),
        types.Content(role="model", parts=[types.Part(text="Here it is.")]),
        types.Content(
            role="user",
            parts=[types.Part.from_bytes(data=b"not a png", mime_type="image/png"), types.Part(text="make it blue")],
        ),
    ]
    with pytest.raises(errors.ClientError) as info:
        client.models.generate_content(model=LITE, contents=contents)
    assert info.value.code == 400 and "contents[2].parts[0]" in str(info.value.message)


def test_reference_images_over_the_limit_are_400(client: genai.Client) -> None:
    small = png_part(Image.new("RGB", (8, 8), (245, 245, 245)))
    with pytest.raises(errors.ClientError) as info:
        client.models.generate_content(model=LITE, contents=[*([small] * 15), "add a red circle"])
    assert info.value.code == 400 and "at most 14" in str(info.value.message)


@pytest.fixture(scope="module")
def chat_backed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[genai.Client, list[dict[str, Any]]]]:
    """A server whose text parts come from an OpenAI-compatible chat server."""
    with chat_server() as (url, log):
        env = {"PLANTAIN_TEXT_URL": url, "PLANTAIN_TEXT_MODEL": "tiny-chat", "PLANTAIN_TEXT_API_KEY": "chat-key"}
        with running_server(env, log=tmp_path_factory.mktemp("chat") / "server.log") as base:
            yield client_for(base), log


def test_chat_backend_writes_captions_and_replies(chat_backed: tuple[genai.Client, list[dict[str, Any]]]) -> None:
    client, log = chat_backed
    r = client.models.generate_content(model=LITE, contents="a cyan diamond", config=cfg(seed=2))
    assert texts_of(only_candidate(r)) == ["caption for: a cyan diamond"]
    assert log[-1]["body"]["model"] == "tiny-chat" and log[-1]["authorization"] == "Bearer chat-key"
    contents = [
        types.Content(role="user", parts=[types.Part(text="hello")]),
        types.Content(role="model", parts=[types.Part(text="hi")]),
        types.Content(role="user", parts=[types.Part(text="what can you draw?")]),
    ]
    text = client.models.generate_content(model=LITE, contents=contents, config=cfg(response_modalities=["TEXT"]))
    assert text.text == "reply to: what can you draw? (3 messages)"
    assert [m["role"] for m in log[-1]["body"]["messages"]] == ["user", "assistant", "user"]


@pytest.mark.parametrize("wrapping", ["", " (fenced)"])
def test_storyboard_interleaves_planned_panels(
    chat_backed: tuple[genai.Client, list[dict[str, Any]]], wrapping: str
) -> None:
    client, _ = chat_backed
    r = client.models.generate_content(
        model=LITE,
        contents=f"a 3-panel storyboard of a red circle rolling from left to right{wrapping}",
        config=cfg(seed=8),
    )
    parts = only_candidate(r).content.parts or []  # type: ignore[union-attr]
    assert [bool(p.inline_data) for p in parts] == [False, True] * 3
    assert [p.text for p in parts[::2]] == [
        "The red circle starts at the left.",
        "It rolls to the center.",
        "And stops at the right.",
    ]
    # Each panel is drawn from its own planned prompt: three different pictures. (Whether the circle
    # lands in the named cell is the model's position quality, measured by python -m plantain.mini.evaluate.)
    panels = [p.inline_data.data for p in parts[1::2]]  # type: ignore[union-attr]
    assert len(set(panels)) == 3
    assert all(Image.open(io.BytesIO(data)).size == (1024, 1024) for data in panels)  # type: ignore[arg-type]
    assert r.sdk_http_response.headers["x-plantain-batch-size"] == "3"  # type: ignore[union-attr,index]
    assert r.usage_metadata.candidates_tokens_details  # type: ignore[union-attr]


def test_storyboard_without_a_plan_is_one_image(chat_backed: tuple[genai.Client, list[dict[str, Any]]]) -> None:
    client, _ = chat_backed
    r = client.models.generate_content(model=LITE, contents="a 3-panel comic, nonsense", config=cfg(seed=8))
    parts = only_candidate(r).content.parts or []  # type: ignore[union-attr]
    assert [bool(p.inline_data) for p in parts] == [False, True]


def test_thinking_plans_with_world_knowledge_and_draws_the_plan(
    chat_backed: tuple[genai.Client, list[dict[str, Any]]],
) -> None:
    client, log = chat_backed
    config = cfg(seed=4, thinking_config=types.ThinkingConfig(include_thoughts=True))
    r = client.models.generate_content(model=LITE, contents="the tallest mountain in Africa at sunset", config=config)
    parts = only_candidate(r).content.parts or []  # type: ignore[union-attr]
    assert parts[0].thought and "a large orange triangle at the center" in (parts[0].text or "")
    asked = [e["body"]["messages"] for e in log if "into a prompt" in e["body"]["messages"][0]["content"]]
    assert asked and asked[-1][-1]["content"] == "the tallest mountain in Africa at sunset"
    (image,) = [p.as_image() for p in parts if p.inline_data]
    scene = detect(Image.open(io.BytesIO(image.image_bytes)).resize((32, 32), Image.Resampling.BOX))  # type: ignore[union-attr,arg-type]
    assert [(o.shape, o.colour) for o in scene.objects] == [("triangle", "orange")]
    assert r.usage_metadata is not None and (r.usage_metadata.thoughts_token_count or 0) > 0
