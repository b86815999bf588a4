"""What the SDK cannot send: raw REST requests, checked for Google's error shape and codes."""

from __future__ import annotations

import base64
import io

import httpx
import pytest
from PIL import Image

from tests.server_process import API_KEY

URL = "/v1beta/models/gemini-3.1-flash-lite-image:generateContent"


def post(server: str, body: object, **kw: object) -> httpx.Response:
    headers = {"x-goog-api-key": API_KEY, **kw.pop("headers", {})}  # type: ignore[dict-item]
    return httpx.post(server + URL, json=body, headers=headers, timeout=120, **kw)  # type: ignore[arg-type]


def assert_google_error(r: httpx.Response, code: int, status: str) -> dict[str, object]:
    assert r.status_code == code, r.text
    assert r.headers["content-type"].startswith("application/json")
    err = r.json()["error"]
    assert err["code"] == code and err["status"] == status and err["message"]
    assert "Traceback" not in r.text
    return err  # type: ignore[no-any-return]


def test_missing_key_is_403(server: str) -> None:
    r = httpx.post(server + URL, json={"contents": [{"parts": [{"text": "a red circle"}]}]})
    assert_google_error(r, 403, "PERMISSION_DENIED")


def test_key_in_query_and_snake_case_and_url_safe_base64(server: str) -> None:
    png = io.BytesIO()
    Image.new("RGB", (32, 32), (245, 245, 245)).save(png, format="PNG")
    data = base64.urlsafe_b64encode(png.getvalue()).decode().rstrip("=")
    body = {
        "contents": [{"role": "user", "parts": [
            {"inline_data": {"mime_type": "image/png", "data": data}},
            {"text": "add a red circle at the center"},
        ]}],
        "generation_config": {"response_modalities": ["Image"], "image_config": {"aspect_ratio": "1:1"}},
    }  # fmt: skip
    r = httpx.post(server + URL + f"?key={API_KEY}", json=body, timeout=120)
    assert r.status_code == 200, r.text
    part = r.json()["candidates"][0]["content"]["parts"][0]
    assert part["inlineData"]["mimeType"] == "image/png"
    base64.b64decode(part["inlineData"]["data"], validate=True)  # standard alphabet, padded
    assert base64.b64decode(part["thoughtSignature"])


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"contents": [{"parts": [{"inlineData": {"mimeType": "image/png", "data": "!!not base64!!"}}]}]}, "Base64"),
        ({"contents": []}, "contents"),
        (
            {"contents": [{"parts": [{"text": "x"}]}], "generationConfig": {"temprature": 1}},
            'Unknown name "temprature"',
        ),
        ({"contents": [{"parts": [{"text": "x"}]}], "generationConfig": {"temperature": 5}}, "temperature"),
        ({"contents": [{"parts": [{"text": "x"}]}], "tools": [{"googleSearch": {}}]}, "Tools"),
    ],
)
def test_malformed_requests_are_400(server: str, body: object, needle: str) -> None:
    err = assert_google_error(post(server, body), 400, "INVALID_ARGUMENT")
    assert needle in str(err["message"])


def test_invalid_json_is_400(server: str) -> None:
    r = httpx.post(server + URL, content=b"{not json", headers={"x-goog-api-key": API_KEY})
    assert_google_error(r, 400, "INVALID_ARGUMENT")


def test_body_too_large_is_413(server: str) -> None:
    huge = b'{"contents": [{"parts": [{"text": "' + b"a" * (21 * 1024 * 1024) + b'"}]}]}'
    r = httpx.post(server + URL, content=huge, headers={"x-goog-api-key": API_KEY}, timeout=60)
    err = assert_google_error(r, 413, "INVALID_ARGUMENT")
    assert "exceeds the limit" in str(err["message"])


def test_unknown_route_is_404_in_google_shape(server: str) -> None:
    r = httpx.get(server + "/v1beta/nothing-here", headers={"x-goog-api-key": API_KEY})
    assert_google_error(r, 404, "NOT_FOUND")
