"""The Gemini routes in-process: auth, validation, error shapes, pagination, body limits, replies."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tests.routes.conftest import KEY, MAX_REQUEST_BYTES

GENERATE = "/v1beta/models/tiny-sana:generateContent"


def body(text: str = "a lighthouse", **config: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"contents": [{"parts": [{"text": text}]}]}
    if config:
        out["generationConfig"] = config
    return out


def google_error(r: httpx.Response, code: int, status: str) -> dict[str, Any]:
    assert r.status_code == code, r.text
    assert r.headers["content-type"].startswith("application/json")
    err: dict[str, Any] = r.json()["error"]
    assert err["code"] == code and err["status"] == status and err["message"]
    assert "Traceback" not in r.text
    return err


def png(size: tuple[int, int] = (48, 32)) -> str:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


def image_of(reply: dict[str, Any], candidate: int = 0) -> Image.Image:
    parts = reply["candidates"][candidate]["content"]["parts"]
    (data,) = [p["inlineData"]["data"] for p in parts if "inlineData" in p]
    return Image.open(io.BytesIO(base64.b64decode(data)))


# -- auth --------------------------------------------------------------------------------------


def test_no_key_is_403_and_a_wrong_key_is_googles_400(client: TestClient) -> None:
    google_error(client.get("/v1beta/models", headers={"x-goog-api-key": ""}), 403, "PERMISSION_DENIED")
    err = google_error(client.get("/v1beta/models", headers={"x-goog-api-key": "nope"}), 400, "INVALID_ARGUMENT")
    assert err["details"][0]["reason"] == "API_KEY_INVALID"


@pytest.mark.parametrize("how", ["query", "bearer"])
def test_the_key_may_come_as_a_query_or_a_bearer_token(client: TestClient, how: str) -> None:
    headers = {"x-goog-api-key": ""}
    if how == "bearer":
        headers["authorization"] = f"Bearer {KEY}"
    url = "/v1beta/models" + (f"?key={KEY}" if how == "query" else "")
    assert client.get(url, headers=headers).status_code == 200


def test_auth_comes_before_everything_else(client: TestClient) -> None:
    r = client.post("/v1beta/models/nope:generateContent", content=b"{bad", headers={"x-goog-api-key": ""})
    google_error(r, 403, "PERMISSION_DENIED")


# -- models and pagination -----------------------------------------------------------------------


def test_models_page_through_with_tokens(client: TestClient) -> None:
    names, token = [], ""
    for _ in range(5):
        page = client.get("/v1beta/models", params={"pageSize": 2, "pageToken": token}).json()
        names += [m["name"] for m in page["models"]]
        token = page.get("nextPageToken", "")
        if not token:
            break
    assert names == ["models/tiny-sana", "models/tiny-klein", "models/tiny-klein-2"]
    assert client.get("/v1/models").json()["models"][0]["supportedGenerationMethods"] == [
        "generateContent",
        "countTokens",
        "predict",
    ]


@pytest.mark.parametrize("token", ["bm90IGEgbnVtYmVy", "OTk5", "!!!"])
def test_a_bad_page_token_is_400(client: TestClient, token: str) -> None:
    google_error(client.get("/v1beta/models", params={"pageToken": token}), 400, "INVALID_ARGUMENT")


def test_unknown_models_routes_and_methods(client: TestClient) -> None:
    err = google_error(client.get("/v1beta/models/nope"), 404, "NOT_FOUND")
    assert "models/nope is not found for API version v1beta" in err["message"]
    google_error(client.post("/v1/models/nope:generateContent", json=body()), 404, "NOT_FOUND")
    google_error(client.get("/v1beta/nothing-here"), 404, "NOT_FOUND")
    google_error(client.post("/v1beta/models/tiny-sana:frobnicate", json=body()), 404, "NOT_FOUND")
    google_error(client.post("/v1beta/models/tiny-sana:embedContent", json=body()), 501, "UNIMPLEMENTED")
    google_error(client.delete("/v1beta/models"), 405, "UNIMPLEMENTED")


# -- bodies --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"{not json",
        b"\xff\xfe\x00",
        b"[" * 30_000 + b"]" * 30_000,
        b'{"a":' * 9_000 + b"1" + b"}" * 9_000,
        b'{"contents": [{"parts": [' + b"[" * 20_000 + b"]" * 20_000 + b"]}]}",
    ],
    ids=["empty", "broken", "not utf-8", "deep arrays", "deep objects", "deep inside a part"],
)
def test_any_body_the_parser_refuses_is_a_400(client: TestClient, raw: bytes) -> None:
    err = google_error(client.post(GENERATE, content=raw), 400, "INVALID_ARGUMENT")
    assert err["message"].startswith("Invalid JSON payload received.")


def test_deep_json_that_parses_is_still_a_400_not_a_500(client: TestClient) -> None:
    nested: Any = 1
    for _ in range(500):
        nested = {"x": nested}
    raw = json.dumps({"contents": [{"parts": [{"text": "a", "functionCall": nested}]}]})
    google_error(client.post(GENERATE, content=raw), 400, "INVALID_ARGUMENT")


def test_a_body_over_the_limit_is_413(client: TestClient) -> None:
    err = google_error(client.post(GENERATE, json=body("a" * MAX_REQUEST_BYTES)), 413, "INVALID_ARGUMENT")
    assert f"{MAX_REQUEST_BYTES} bytes" in err["message"]


@pytest.mark.parametrize(
    ("payload", "needle", "field"),
    [
        ({"contents": []}, "contents", "contents"),
        (
            {**body(), "generationConfig": {"temprature": 1}},
            'Unknown name "temprature"',
            "generation_config.temprature",
        ),
        (body(temperature=5), "temperature", "generation_config.temperature"),
    ],
)
def test_a_body_that_does_not_fit_the_schema_names_its_field(
    client: TestClient, payload: dict[str, Any], needle: str, field: str
) -> None:
    err = google_error(client.post(GENERATE, json=payload), 400, "INVALID_ARGUMENT")
    assert needle in err["message"]
    (detail,) = err["details"]
    assert detail["@type"] == "type.googleapis.com/google.rpc.BadRequest"
    assert detail["fieldViolations"][0]["field"] == field


@pytest.mark.parametrize(
    ("payload", "needle"),
    [
        ({"contents": [{"parts": [{"inlineData": {"mimeType": "image/png", "data": "!!"}}]}]}, "Base64"),
        (body(imageConfig={"aspectRatio": "7:5"}), "aspectRatio"),
        (body(imageConfig={"imageSize": "2k"}), "upper-case K"),
        (body(imageConfig={"imageSize": "4K"}), "not supported by models/tiny-sana"),
        (body(candidateCount=9), "candidateCount"),
        ({**body(), "tools": [{"googleSearch": {}}]}, "Tools"),
        (body(""), "no text"),
    ],
)
def test_a_request_the_model_cannot_serve_is_400_before_anything_runs(
    client: TestClient, payload: dict[str, Any], needle: str
) -> None:
    err = google_error(client.post(GENERATE, json=payload), 400, "INVALID_ARGUMENT")
    assert needle in err["message"]


def test_a_model_that_cannot_edit_refuses_an_image(client: TestClient) -> None:
    payload = {"contents": [{"parts": [{"inlineData": {"mimeType": "image/png", "data": png()}}, {"text": "edit"}]}]}
    err = google_error(client.post(GENERATE, json=payload), 400, "INVALID_ARGUMENT")
    assert "cannot edit" in err["message"]


def test_x_server_timeout_must_be_a_number(client: TestClient) -> None:
    r = client.post(GENERATE, json=body(), headers={"x-server-timeout": "soon"})
    assert "X-Server-Timeout" in google_error(r, 400, "INVALID_ARGUMENT")["message"]


# -- replies -------------------------------------------------------------------------------------


def test_generate_replies_with_an_image_of_the_asked_size_and_its_usage(client: TestClient) -> None:
    cfg = {"responseModalities": ["IMAGE"], "imageConfig": {"aspectRatio": "16:9", "imageSize": "512"}, "seed": 3}
    r = client.post(GENERATE, json=body(**cfg))
    assert r.status_code == 200, r.text
    reply = r.json()
    assert image_of(reply).size == (688, 384)
    assert reply["modelVersion"] == "tiny-sana" and reply["candidates"][0]["finishReason"] == "STOP"
    usage = reply["usageMetadata"]
    assert usage["candidatesTokensDetails"] == [{"modality": "IMAGE", "tokenCount": 747}]
    assert usage["totalTokenCount"] == usage["promptTokenCount"] + 747
    assert r.headers["x-plantain-batch-size"] == "1"
    again = client.post(GENERATE, json=body(**cfg)).json()
    assert image_of(again).tobytes() == image_of(reply).tobytes()  # same seed, same pixels


def test_a_stream_carries_the_same_reply_in_one_event(client: TestClient) -> None:
    cfg = {"responseModalities": ["TEXT", "IMAGE"], "seed": 5}
    plain = client.post(GENERATE, json=body(**cfg)).json()
    r = client.post("/v1beta/models/tiny-sana:streamGenerateContent?alt=sse", json=body(**cfg))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    events = [json.loads(line[6:]) for line in r.text.split("\r\n\r\n") if line.startswith("data: ")]
    (event,) = events
    assert event["candidates"][0]["content"]["parts"][0] == {"text": "Here is the image for: a lighthouse"}
    assert image_of(event).tobytes() == image_of(plain).tobytes()
    assert event["usageMetadata"] == plain["usageMetadata"]


def test_a_small_input_image_is_taken_by_a_family_that_wants_larger(client: TestClient) -> None:
    payload = {
        "contents": [{"parts": [{"inlineData": {"mimeType": "image/png", "data": png((48, 32))}}, {"text": "blue"}]}],
        "generationConfig": {"responseModalities": ["IMAGE"]},
    }
    r = client.post("/v1beta/models/tiny-klein:generateContent", json=payload)
    assert r.status_code == 200, r.text  # Klein's own processor refuses under 64 pixels a side
    assert image_of(r.json()).size == (1264, 848)


def test_an_edit_on_a_model_that_edits(client: TestClient) -> None:
    payload = {
        "contents": [{"parts": [{"inlineData": {"mimeType": "image/png", "data": png((96, 64))}}, {"text": "blue"}]}],
        "generationConfig": {"responseModalities": ["IMAGE"], "candidateCount": 2},
    }
    reply = client.post("/v1beta/models/tiny-klein:generateContent", json=payload).json()
    assert [image_of(reply, i).size for i in range(2)] == [(1264, 848)] * 2  # 3:2, the input's
    assert reply["usageMetadata"]["promptTokensDetails"][1] == {"modality": "IMAGE", "tokenCount": 1120}


def test_count_tokens_agrees_with_generate(client: TestClient) -> None:
    counted = client.post("/v1beta/models/tiny-sana:countTokens", json={"contents": body()["contents"]}).json()
    reply = client.post(GENERATE, json=body(responseModalities=["IMAGE"])).json()
    assert counted["totalTokens"] == reply["usageMetadata"]["promptTokenCount"]
    r = client.post("/v1beta/models/tiny-sana:countTokens", json={})
    assert "exactly one" in google_error(r, 400, "INVALID_ARGUMENT")["message"]


def test_a_text_only_answer_draws_nothing(client: TestClient) -> None:
    reply = client.post(GENERATE, json=body(responseModalities=["TEXT"])).json()
    (part,) = reply["candidates"][0]["content"]["parts"]
    assert "PLANTAIN_TEXT_URL" in part["text"]
    assert "candidatesTokensDetails" in reply["usageMetadata"]


def test_metrics_count_the_batches(client: TestClient) -> None:
    client.post(GENERATE, json=body(responseModalities=["IMAGE"]))
    assert 'plantain_batch_size_count{pipeline="tiny-sana"}' in client.get("/metrics").text
