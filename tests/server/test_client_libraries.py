"""The libraries and apps people already use, against a real `plantain serve` with only the base URL
changed: LiteLLM, LangChain's Google and OpenAI wrappers, Open WebUI's exact requests, and the
Vercel AI SDK (`clients/vercel-ai`, run with Node when it is installed)."""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import subprocess
import warnings
from pathlib import Path
from typing import Any

import httpx
import litellm
import pytest
from PIL import Image

from tests.server_process import API_KEY

# A real server process, training or the model at length: `pytest -m "not slow"` skips it.
pytestmark = pytest.mark.slow

VERCEL = Path(__file__).parents[2] / "clients" / "vercel-ai"


def image(data: str | bytes) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(data)))


# -- LiteLLM ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "path"),
    [
        ("gemini/imagen-4.0-generate-001", "/v1beta"),  # Imagen's :predict
        ("gemini/gemini-2.5-flash-image", "/v1beta"),  # generateContent
        ("openai/gpt-image-1", "/v1"),  # OpenAI Images
    ],
)
def test_litellm_image_generation(server: str, model: str, path: str) -> None:
    r = litellm.image_generation(model=model, prompt="a red circle", api_key=API_KEY, api_base=server + path, n=1)
    assert len(r.data) == 1 and image(r.data[0].b64_json).size == (1024, 1024)


def test_litellm_completion_with_image_output(server: str) -> None:
    r = litellm.completion(
        model="gemini/gemini-2.5-flash-image",
        messages=[{"role": "user", "content": "three blue squares"}],
        api_key=API_KEY,
        api_base=server + "/v1beta",
        modalities=["image", "text"],
    )
    message = r.choices[0].message
    assert message.content and "square" in message.content
    url = message.images[0]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,") and image(url.split(",", 1)[1]).size == (1024, 1024)


# -- LangChain --------------------------------------------------------------------------------------


def test_langchain_google_chat_model_returns_text_and_an_image(server: str) -> None:
    from langchain_google_genai import ChatGoogleGenerativeAI

    llm = ChatGoogleGenerativeAI(
        model="gemini-2.5-flash-image",
        google_api_key=API_KEY,
        base_url=server,
        response_modalities=["TEXT", "IMAGE"],
    )
    content = llm.invoke("a green triangle").content
    assert isinstance(content, list)
    kinds = {block["type"] for block in content if isinstance(block, dict)}
    assert kinds == {"text", "image_url"}


def test_langchain_openai_image_wrapper_gets_urls(server: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from langchain_community.utilities.dalle_image_generator import DallEAPIWrapper

    # DALL-E names answer with URLs by default, which is what this wrapper reads.
    url = DallEAPIWrapper(api_key=API_KEY, base_url=f"{server}/v1", model="dall-e-3", max_retries=0).run(
        "a pink diamond"
    )
    got = httpx.get(url)
    assert got.status_code == 200 and Image.open(io.BytesIO(got.content)).size == (1024, 1024)


# -- Open WebUI (backend/open_webui/routers/images.py), its requests replayed byte for byte ------------


def open_webui(server: str, model: str, method: str, body: dict[str, Any]) -> Any:
    # Open WebUI's Gemini engine: base URL .../v1beta, the key as x-goog-api-key.
    r = httpx.post(
        f"{server}/v1beta/models/{model}:{method}", json=body, headers={"x-goog-api-key": API_KEY}, timeout=120
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_open_webui_predict_with_an_object_instance(server: str) -> None:
    body = {"instances": {"prompt": "a red circle"}, "parameters": {"sampleCount": 2,
            "outputOptions": {"mimeType": "image/png"}}}  # fmt: skip
    reply = open_webui(server, "imagen-3.0-generate-002", "predict", body)
    # It decodes with a lenient b64decode that drops URL-safe characters: standard base64 only.
    datas = [p["bytesBase64Encoded"] for p in reply["predictions"]]
    assert len(datas) == 2 and all("-" not in d and "_" not in d for d in datas)
    assert all(image(d).format == "PNG" for d in datas)


def test_open_webui_generate_and_edit_with_gemini(server: str) -> None:
    reply = open_webui(
        server, "gemini-2.5-flash-image", "generateContent", {"contents": [{"parts": [{"text": "a blue square"}]}]}
    )
    parts = reply["candidates"][0]["content"]["parts"]
    data = next(p["inlineData"]["data"] for p in parts if "inlineData" in p)
    # Its edit: snake_case inline_data, the images after the text, and always image/png, even for a JPEG.
    jpeg = io.BytesIO()
    image(data).convert("RGB").save(jpeg, format="JPEG")
    jpeg_b64 = base64.b64encode(jpeg.getvalue()).decode()
    edit = {"contents": [{"parts": [{"text": "make the background yellow"},
            {"inline_data": {"mime_type": "image/png", "data": jpeg_b64}}]}]}  # fmt: skip
    edited = open_webui(server, "gemini-2.5-flash-image", "generateContent", edit)
    assert any("inlineData" in p for p in edited["candidates"][0]["content"]["parts"])


# -- Vercel AI SDK ----------------------------------------------------------------------------------


def test_vercel_ai_sdk_google_provider(server: str, tmp_path: Path) -> None:
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        pytest.skip("Node.js is not installed; run clients/vercel-ai/check.mjs by hand (docs/clients.md)")
    work = tmp_path / "vercel-ai"
    shutil.copytree(VERCEL, work, ignore=shutil.ignore_patterns("node_modules"))
    subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=work, check=True, capture_output=True, timeout=300)
    env = {**os.environ, "PLANTAIN_URL": server, "PLANTAIN_KEY": API_KEY}
    run = subprocess.run(["node", "check.mjs"], cwd=work, env=env, capture_output=True, text=True, timeout=300)
    results = {r["check"]: r for r in map(json.loads, run.stdout.splitlines())}
    assert run.returncode == 0, run.stdout + run.stderr
    assert results["imagen"]["images"] == 2 and results["imagen"]["size"] == [1376, 768]
    assert results["geminiImage"]["size"] == [1024, 1024]
    assert results["text"]["text"] and results["text"]["images"] == 1
