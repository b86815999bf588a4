"""The hostile corpus and hostile bodies against a real `plantain serve`: every one gets a 4xx in
the route's own format (Google's error on Gemini and `:predict` routes, OpenAI's on OpenAI's), the
server's memory stays bounded, and it keeps serving."""

from __future__ import annotations

import base64
import io
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from PIL import Image

from tests.hostile.make_corpus import CORPUS, VALID, corpus
from tests.server_process import API_KEY, Server, server_process

pytestmark = pytest.mark.slow

HOSTILE = sorted(set(corpus()) - VALID)
MODEL = "gemini-3.1-flash-lite-image"
GOOGLE = {"x-goog-api-key": API_KEY}
OPENAI = {"authorization": f"Bearer {API_KEY}"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("hostile")
    with server_process({"PLANTAIN_DATA_DIR": str(folder)}, log=folder / "server.log") as s:
        yield s


@pytest.fixture(scope="module")
def watch(server: Server) -> Iterator[dict[str, int]]:
    """The server's resident memory: after a first image (the model loaded), and its peak while
    the hostile inputs come."""
    ok = generate(server.base, [{"text": "a red circle"}])
    assert ok.status_code == 200, ok.text
    process = psutil.Process(server.pid)
    seen = {"baseline": process.memory_info().rss, "peak": 0}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            seen["peak"] = max(seen["peak"], process.memory_info().rss)
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    yield seen
    stop.set()
    sampler.join()


def generate(base: str, parts: list[dict[str, object]]) -> httpx.Response:
    body = {"contents": [{"role": "user", "parts": parts}]}
    return httpx.post(f"{base}/v1beta/models/{MODEL}:generateContent", json=body, headers=GOOGLE, timeout=120)


def google_error(r: httpx.Response, code: int) -> str:
    assert r.status_code == code, r.text[:300]
    error = r.json()["error"]
    assert error["code"] == code and error["status"] and error["message"]
    return str(error["message"])


def openai_error(r: httpx.Response, code: int) -> str:
    assert r.status_code == code, r.text[:300]
    error = r.json()["error"]
    assert error["type"] and error["message"] and set(error) == {"message", "type", "param", "code"}
    return str(error["message"])


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.mark.parametrize("name", HOSTILE)
def test_each_hostile_image_in_each_dialect(server: Server, watch: dict[str, int], name: str) -> None:
    data = (CORPUS / name).read_bytes()
    inline = {"inlineData": {"mimeType": "image/png", "data": b64(data)}}
    google_error(generate(server.base, [inline, {"text": "make it blue"}]), 400)
    edit = httpx.post(
        f"{server.base}/v1/images/edits", headers=OPENAI, timeout=60,
        data={"model": "gpt-image-1", "prompt": "make it blue"}, files={"image": (name, data, "image/png")},
    )  # fmt: skip
    openai_error(edit, 400)
    reference = {
        "referenceType": "REFERENCE_TYPE_RAW",
        "referenceId": 1,
        "referenceImage": {"bytesBase64Encoded": b64(data)},
    }
    predict = {"instances": [{"prompt": "make it blue", "referenceImages": [reference]}]}
    r = httpx.post(f"{server.base}/v1beta/models/{MODEL}:predict", json=predict, headers=GOOGLE, timeout=60)
    google_error(r, 400)


@pytest.mark.parametrize("name", sorted(VALID))
def test_unusual_sound_images_are_edited(server: Server, name: str) -> None:
    inline = {"inlineData": {"mimeType": "image/jpeg", "data": b64((CORPUS / name).read_bytes())}}
    r = generate(server.base, [inline, {"text": "make it blue"}])
    assert r.status_code == 200, r.text


def test_hostile_bodies(server: Server, watch: dict[str, int]) -> None:
    url = f"{server.base}/v1beta/models/{MODEL}:generateContent"
    headers = {**GOOGLE, "content-type": "application/json"}
    # Not UTF-8; nested past any parser's stack; a number where a list belongs.
    assert "Invalid JSON" in google_error(httpx.post(url, content=b'{"contents": "\xff\xfe"}', headers=headers), 400)
    deep = b"[" * 100_000 + b"]" * 100_000
    google_error(httpx.post(url, content=deep, headers=headers), 400)
    for depth in (400, 5_000):  # within the parser's stack, and past it
        nested = b'{"contents": [' + b'{"parts": [' * depth + b'{"text": "x"}' + b"]}" * depth + b"]}"
        google_error(httpx.post(url, content=nested, headers=headers), 400)
    google_error(httpx.post(url, json={"contents": 7}, headers=headers), 400)
    # A string of base64 past the body limit (20 MB): refused before it is read in full.
    huge = (
        b'{"contents": [{"parts": [{"inlineData": {"mimeType": "image/png", "data": "' + b"A" * 25_000_000 + b'"}}]}]}'
    )
    google_error(httpx.post(url, content=huge, headers=headers, timeout=60), 413)
    google_error(generate(server.base, [{"inlineData": {"mimeType": "image/png", "data": "@@not base64@@"}}]), 400)
    # Thousands of parts: text, and images.
    google_error(generate(server.base, [{"text": "a"} for _ in range(20_000)]), 400)
    tiny = b64((CORPUS / "cmyk.jpg").read_bytes())
    google_error(
        generate(server.base, [{"inlineData": {"mimeType": "image/jpeg", "data": tiny}} for _ in range(3_000)]), 400
    )
    # The OpenAI routes: a JSON body that is not JSON, and a multipart body with thousands of fields.
    bad = httpx.post(
        f"{server.base}/v1/images/generations", content=b"\xff{", headers={**OPENAI, "content-type": "application/json"}
    )
    openai_error(bad, 400)
    fields = {f"field{i}": "x" for i in range(5_000)}
    many = httpx.post(f"{server.base}/v1/images/edits", headers=OPENAI, data=fields,
                      files={"image": ("a.png", (CORPUS / "cmyk.jpg").read_bytes(), "image/jpeg")})  # fmt: skip
    openai_error(many, 400)


def slow_loris(base: str, path: str, headers: dict[str, str], content_type: str) -> tuple[int, bytes, float]:
    """Headers, then a body that promises 10,000 bytes and sends one a second."""
    host, port = base.removeprefix("http://").split(":")
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=60) as conn:
        head = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Content-Type: {content_type}", "Content-Length: 10000"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        conn.settimeout(1.0)
        answer = b""
        while time.monotonic() - started < 40 and b"\r\n\r\n" not in answer:
            try:
                conn.sendall(b"{")
                answer += conn.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
        conn.settimeout(5.0)
        try:
            while len(answer) < 20 or not answer.rstrip().endswith(b"}"):
                more = conn.recv(65536)
                if not more:
                    break
                answer += more
        except OSError:
            pass
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0
    return status, answer.split(b"\r\n\r\n", 1)[-1], time.monotonic() - started


def test_slow_loris_bodies_are_cut_off(server: Server, watch: dict[str, int]) -> None:
    status, body, took = slow_loris(server.base, f"/v1beta/models/{MODEL}:generateContent", GOOGLE, "application/json")
    assert status == 408 and json.loads(body)["error"]["status"] == "DEADLINE_EXCEEDED", body
    assert took < 20
    status, body, _ = slow_loris(server.base, "/v1/images/edits", OPENAI, "multipart/form-data; boundary=x")
    assert status == 408 and json.loads(body)["error"]["code"] == "request_timeout", body


def test_memory_bounded_and_still_serving(server: Server, watch: dict[str, int], tmp_path: Path) -> None:
    """Last: after everything above, the server answers as before, and its memory at the peak stayed
    within 300 MB of where it was (a decoded bomb alone would add 432 MB)."""
    r = generate(server.base, [{"text": "a blue square"}])
    assert r.status_code == 200
    image = next(p for p in r.json()["candidates"][0]["content"]["parts"] if "inlineData" in p)
    assert Image.open(io.BytesIO(base64.b64decode(image["inlineData"]["data"]))).size == (1024, 1024)
    grown = (watch["peak"] - watch["baseline"]) / 2**20
    assert grown < 300, f"peak RSS grew {grown:.0f} MB"
