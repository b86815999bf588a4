"""The OpenAI Images routes in-process over the tiny catalog: sizes, edits with masks, streams,
URLs, and every error in OpenAI's shape."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tests.routes.conftest import KEY

AUTH = {"authorization": f"Bearer {KEY}", "x-goog-api-key": ""}
GENERATIONS = "/v1/images/generations"
EDITS = "/v1/images/edits"


def generate(client: TestClient, **body: Any) -> httpx.Response:
    return client.post(GENERATIONS, json={"prompt": "a lighthouse", **body}, headers=AUTH)


def openai_error(r: httpx.Response, status: int, code: str | None, param: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    err: dict[str, Any] = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"} and err["message"]
    assert err["code"] == code and err["param"] == param, err
    assert "Traceback" not in r.text and r.headers["x-request-id"]
    return err


def decode(b64: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(b64)))


def png(size: tuple[int, int], colour: tuple[int, ...] = (200, 30, 30), mode: str = "RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, colour).save(buf, format="PNG")
    return buf.getvalue()


# -- sizes --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "drawn"),
    [
        ("1024x512", (1024, 512)),  # multiples of 16: exactly
        ("1000x1000", (1024, 1024)),  # not: the nearest own size
        ("1792x1024", (1376, 768)),  # OpenAI's own size, larger than the model makes: 16:9 at 1K
        ("auto", (1024, 1024)),
    ],
)
def test_sizes_are_drawn_exactly_where_the_model_can_and_mapped_otherwise(
    client: TestClient, size: str, drawn: tuple[int, int]
) -> None:
    r = generate(client, model="tiny-sana", size=size)
    assert r.status_code == 200, r.text
    reply = r.json()
    assert decode(reply["data"][0]["b64_json"]).size == drawn
    assert reply["size"] == "{}x{}".format(*drawn) and reply["output_format"] == "png"
    assert reply["usage"]["output_tokens_details"]["image_tokens"] > 0 and isinstance(reply["created"], int)


def test_a_size_the_model_cannot_make_is_a_400_naming_the_sizes_it_can(client: TestClient) -> None:
    err = openai_error(generate(client, model="tiny-sana", size="4096x4096"), 400, "invalid_value", "size")
    assert "models/tiny-sana makes widths and heights that are multiples of 32" in err["message"]
    assert "1024x1024" in err["message"]
    openai_error(generate(client, size="big"), 400, "invalid_value", "size")


def test_the_model_defaults_to_the_catalogs_first_and_n_images_come_back(client: TestClient) -> None:
    r = client.post(GENERATIONS, json={"prompt": "two boats", "n": 2, "size": "256x256"}, headers=AUTH)
    assert r.status_code == 200 and len(r.json()["data"]) == 2
    assert r.headers["x-plantain-model"] == "tiny-sana"


@pytest.mark.parametrize(("fmt", "magic"), [("jpeg", b"\xff\xd8\xff"), ("webp", b"RIFF")])
def test_output_formats(client: TestClient, fmt: str, magic: bytes) -> None:
    r = generate(client, size="256x256", output_format=fmt, output_compression=50)
    assert base64.b64decode(r.json()["data"][0]["b64_json"]).startswith(magic)
    assert r.json()["output_format"] == fmt


# -- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "code", "param"),
    [
        ({"prompt": "x", "bogus": 1}, 400, "unknown_parameter", "bogus"),
        ({"n": 1}, 400, "missing_required_parameter", "prompt"),
        ({"prompt": "x", "n": 0}, 400, "invalid_value", "n"),
        ({"prompt": "x", "n": 9}, 400, "invalid_value", "n"),
        ({"prompt": "   "}, 400, "invalid_value", "prompt"),
        ({"prompt": "x", "quality": "ultra"}, 400, "invalid_value", "quality"),
        ({"prompt": "x", "output_format": "gif"}, 400, "invalid_value", "output_format"),
        ({"prompt": "x", "background": "transparent"}, 400, "unsupported_value", "background"),
        ({"prompt": "x", "svg": {"a": 1}}, 400, "unsupported_parameter", "svg"),
        ({"prompt": "x", "model": "nope"}, 404, "model_not_found", "model"),
    ],
)
def test_bad_requests_are_openai_errors(
    client: TestClient, body: dict[str, Any], status: int, code: str, param: str
) -> None:
    r = client.post(GENERATIONS, json=body, headers=AUTH)
    openai_error(r, status, code, param)
    assert r.headers["x-should-retry"] == "false"


def test_keys_and_bodies_are_checked_in_openais_words(client: TestClient) -> None:
    r = client.post(GENERATIONS, json={"prompt": "x"}, headers={"authorization": "Bearer wrong", "x-goog-api-key": ""})
    assert openai_error(r, 401, "invalid_api_key")["type"] == "invalid_request_error"
    openai_error(client.post(GENERATIONS, json={"prompt": "x"}, headers={"x-goog-api-key": ""}), 401, "invalid_api_key")
    openai_error(client.post(GENERATIONS, content=b"{broken", headers=AUTH), 400, "invalid_value")
    openai_error(client.get("/v1/images/nothing", headers=AUTH), 404, "not_found")


def test_a_client_request_id_is_echoed_and_one_is_made_otherwise(client: TestClient) -> None:
    assert generate(client, size="64x64", n=1).headers["x-request-id"].startswith("req_")
    r = client.post(GENERATIONS, json={"prompt": "x", "size": "64x64"}, headers={**AUTH, "x-request-id": "abc-1"})
    assert r.headers["x-request-id"] == "abc-1"


# -- edits --------------------------------------------------------------------------------------


def test_an_edit_with_a_mask_keeps_every_pixel_outside_it(client: TestClient) -> None:
    source = Image.fromarray(np.random.default_rng(1).integers(0, 255, (64, 96, 3), dtype=np.uint8))
    buf = io.BytesIO()
    source.save(buf, format="PNG")
    mask = Image.new("RGBA", (96, 64), (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (32, 16, 64, 48))  # transparent: the area to edit
    mbuf = io.BytesIO()
    mask.save(mbuf, format="PNG")
    files = [("image", ("a.png", buf.getvalue(), "image/png")), ("mask", ("m.png", mbuf.getvalue(), "image/png"))]
    r = client.post(EDITS, data={"prompt": "a red boat", "model": "tiny-klein"}, files=files, headers=AUTH)
    assert r.status_code == 200, r.text
    out = np.asarray(decode(r.json()["data"][0]["b64_json"]).convert("RGB"))
    assert out.shape == (64, 96, 3)
    keep = np.asarray(mask)[..., 3] == 255
    assert np.array_equal(out[keep], np.asarray(source)[keep])
    assert not np.array_equal(out[~keep], np.asarray(source)[~keep])
    assert r.json()["usage"]["input_tokens_details"]["image_tokens"] > 0


def test_several_images_arrive_as_image_brackets(client: TestClient) -> None:
    files = [("image[]", ("a.png", png((64, 64)), "image/png")), ("image[]", ("b.png", png((48, 32)), "image/png"))]
    r = client.post(EDITS, data={"prompt": "mix them", "model": "tiny-klein", "n": "1"}, files=files, headers=AUTH)
    assert r.status_code == 200, r.text
    assert decode(r.json()["data"][0]["b64_json"]).size == (1264, 848)  # the last image's ratio, 3:2


@pytest.mark.parametrize(
    ("files", "data", "code", "param"),
    [
        ([("mask", ("m.png", png((64, 64)), "image/png"))], {"prompt": "x"}, "missing_required_parameter", "image"),
        ([("image", ("a.txt", b"not an image", "image/png"))], {"prompt": "x"}, "invalid_value", None),
        (
            [("image", ("a.png", png((64, 64)), "image/png")), ("mask", ("m.png", png((32, 32)), "image/png"))],
            {"prompt": "x"},
            "invalid_value",
            "mask",
        ),
        ([("image", ("a.png", png((64, 64)), "image/png"))], {"prompt": "x", "n": "lots"}, "invalid_value", "n"),
        (
            [("image", ("a.png", png((64, 64)), "image/png"))],
            {"prompt": "x", "frame_count": "3"},
            "unsupported_parameter",
            "frame_count",
        ),
    ],
)
def test_bad_edits_are_openai_errors(
    client: TestClient, files: list[Any], data: dict[str, str], code: str, param: str | None
) -> None:
    r = client.post(EDITS, data={"model": "tiny-klein", **data}, files=files or None, headers=AUTH)
    openai_error(r, 400, code, param)


def test_an_edit_sent_as_json_says_it_must_be_multipart(client: TestClient) -> None:
    r = client.post(EDITS, json={"prompt": "x"}, headers=AUTH)
    assert "multipart/form-data" in openai_error(r, 400, "invalid_request", "image")["message"]


def test_a_model_that_cannot_edit_says_so(client: TestClient) -> None:
    files = [("image", ("a.png", png((64, 64)), "image/png"))]
    r = client.post(EDITS, data={"prompt": "x", "model": "tiny-sana"}, files=files, headers=AUTH)
    assert "cannot edit" in openai_error(r, 400, "invalid_value")["message"]


# -- streams and URLs -----------------------------------------------------------------------------


def sse_events(text: str) -> list[dict[str, Any]]:
    events = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        payload = json.loads(lines["data"])
        assert lines["event"] == payload.get("type", "error")
        events.append(payload)
    return events


def test_a_stream_sends_each_images_partials_then_its_completed_event(client: TestClient) -> None:
    # quality "high" runs 1.5 times the tiny model's 2 steps: room for two previews before the end.
    r = generate(client, model="tiny-sana", size="256x256", n=2, stream=True, partial_images=2, quality="high")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    events = sse_events(r.text)
    kinds = [e["type"].rsplit(".", 1)[1] for e in events]
    assert kinds == ["partial_image", "partial_image", "completed"] * 2
    assert [e.get("partial_image_index") for e in events] == [0, 1, None] * 2
    for e in events:
        assert decode(e["b64_json"]).size == (256, 256) and e["size"] == "256x256"
        assert {"created_at", "quality", "background", "output_format"} <= set(e)
    first, last = events[0], events[2]
    assert first["b64_json"] != last["b64_json"]  # a preview is the image forming, not the image
    assert first["quality"] == "high"
    whole = generate(client, model="tiny-sana", size="256x256", n=2, seed=5).json()["usage"]
    streamed = [e["usage"] for e in events if "usage" in e]
    assert sum(u["total_tokens"] for u in streamed) == whole["total_tokens"]


def test_a_stream_without_partials_sends_only_completed_events(client: TestClient) -> None:
    events = sse_events(generate(client, size="64x64", stream=True).text)
    assert [e["type"] for e in events] == ["image_generation.completed"]


def test_an_error_before_the_stream_starts_is_an_ordinary_reply(client: TestClient) -> None:
    openai_error(generate(client, size="4096x4096", stream=True), 400, "invalid_value", "size")


def test_an_edit_streams_edit_events(client: TestClient) -> None:
    files = [("image", ("a.png", png((64, 64)), "image/png"))]
    data = {"prompt": "x", "model": "tiny-klein", "stream": "true", "partial_images": "1", "size": "64x64"}
    r = client.post(EDITS, data=data, files=files, headers=AUTH)
    # FLUX.2's packed latents have no preview decoder: the stream holds the completed image alone.
    assert [e["type"] for e in sse_events(r.text)] == ["image_edit.completed"]


def test_url_images_are_served_without_a_key_and_unknown_ones_are_404(client: TestClient) -> None:
    r = generate(client, size="64x64", response_format="url", output_format="webp")
    url = r.json()["data"][0]["url"]
    assert url.startswith("http://testserver/v1/images/content/") and url.endswith(".webp")
    got = client.get(url.removeprefix("http://testserver"), headers={"x-goog-api-key": ""})
    assert got.status_code == 200 and got.headers["content-type"] == "image/webp"
    assert Image.open(io.BytesIO(got.content)).size == (64, 64)
    gone = client.get("/v1/images/content/AAAAAAAAAAAAAAAAAAAAAA.png", headers={"x-goog-api-key": ""})
    openai_error(gone, 404, "not_found")
