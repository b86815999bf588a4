"""What the SDK cannot send, over a real socket: raw REST requests to a real server. Route behaviour
(auth, validation, error shapes) is tested in-process in tests/routes/."""

from __future__ import annotations

import base64
import io

import httpx
import pytest
from PIL import Image

from tests.server_process import API_KEY

# A real server process, training or the model at length: `pytest -m "not slow"` skips it.
pytestmark = pytest.mark.slow

URL = "/v1beta/models/gemini-3.1-flash-lite-image:generateContent"


def assert_google_error(r: httpx.Response, code: int, status: str) -> dict[str, object]:
    assert r.status_code == code, r.text
    assert r.headers["content-type"].startswith("application/json")
    err = r.json()["error"]
    assert err["code"] == code and err["status"] == status and err["message"]
    assert "Traceback" not in r.text
    return err  # type: ignore[no-any-return]


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


def test_body_too_large_is_413(server: str) -> None:
    huge = b'{"contents": [{"parts": [{"text": "' + b"a" * (21 * 1024 * 1024) + b'"}]}]}'
    r = httpx.post(server + URL, content=huge, headers={"x-goog-api-key": API_KEY}, timeout=60)
    err = assert_google_error(r, 413, "INVALID_ARGUMENT")
    assert "exceeds the limit" in str(err["message"])
