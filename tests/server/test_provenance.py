"""Every image a real `plantain serve` makes carries the watermark and a C2PA manifest naming the
generator and the model, signed with the configured certificate; `plantain verify` reports both."""

from __future__ import annotations

import base64
import io
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from google import genai
from google.genai import types
from PIL import Image

from plantain.imaging.credentials import make_certificates, read_credentials
from plantain.imaging.watermark import read
from tests.server_process import API_KEY, server_process

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::google.genai._common.ExperimentalWarning")]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A server signing with an operator's certificate (made here, as an operator's CA would)."""
    folder = tmp_path_factory.mktemp("provenance")
    ca, chain, key = make_certificates(folder / "operator", host="operator")
    env = {"PLANTAIN_DATA_DIR": str(folder / "data"), "PLANTAIN_C2PA_CERT": str(chain), "PLANTAIN_C2PA_KEY": str(key)}
    with server_process(env, log=folder / "server.log") as server:
        yield server.base, ca


def check(data: bytes, mime: str, model: str, ca: Path) -> None:
    assert read(Image.open(io.BytesIO(data))).found
    credentials = read_credentials(data, mime, ca.read_bytes())
    assert credentials.found and credentials.state == "Trusted", credentials
    assert (credentials.generator, credentials.model) == ("Plantain", model)
    assert credentials.signer == "Plantain signer (operator)"


def test_every_dialect_marks_its_images(served: tuple[str, Path], tmp_path: Path) -> None:
    base, ca = served
    gemini = genai.Client(api_key=API_KEY, http_options=types.HttpOptions(base_url=base))
    r = gemini.models.generate_content(model="gemini-3.1-flash-lite-image", contents="a blue square")
    (image,) = [p.inline_data for p in r.candidates[0].content.parts if p.inline_data]  # type: ignore[index,union-attr]
    assert image.data is not None
    check(image.data, "image/png", "gemini-3.1-flash-lite-image", ca)

    oai = openai.OpenAI(base_url=f"{base}/v1", api_key=API_KEY, max_retries=0)
    jpeg = oai.images.generate(model="gpt-image-1", prompt="a green star", output_format="jpeg")
    assert jpeg.data and jpeg.data[0].b64_json
    check(
        base64.b64decode(jpeg.data[0].b64_json), "image/jpeg", "gemini-3.1-flash-image-preview", ca
    )  # the entry serving the alias

    vertex = genai.Client(vertexai=True, api_key=API_KEY, http_options=types.HttpOptions(base_url=base))
    shown = vertex.models.generate_images(
        model="imagen-4.0-generate-001", prompt="a pink diamond", config=types.GenerateImagesConfig(number_of_images=1)
    )
    (generated,) = shown.generated_images or []
    assert generated.image and generated.image.image_bytes
    check(generated.image.image_bytes, "image/png", "gemini-3.1-flash-image-preview", ca)

    # The command line reads both, and calls the signer trusted only with its CA.
    path = tmp_path / "made.png"
    path.write_bytes(image.data)
    plain = run("verify", str(path))
    assert plain.returncode == 0
    assert "Watermark: found (32 of 32 bits)" in plain.stdout and "signer not trusted" in plain.stdout
    assert "model: gemini-3.1-flash-lite-image" in plain.stdout and "generator: Plantain" in plain.stdout
    trusted = run("verify", str(path), "--trust", str(ca))
    assert "Content credentials: trusted" in trusted.stdout
    # Re-encoded elsewhere: the manifest is gone, the watermark stays.
    Image.open(path).convert("RGB").save(tmp_path / "copy.jpg", quality=80)
    copy = run("verify", str(tmp_path / "copy.jpg"))
    assert copy.returncode == 0 and "Watermark: found" in copy.stdout and "Content credentials: none" in copy.stdout


def test_an_unmarked_image_is_reported_so(tmp_path: Path) -> None:
    path = tmp_path / "plain.png"
    Image.new("RGB", (256, 256), (10, 200, 30)).save(path)
    result = run("verify", str(path))
    assert result.returncode == 1
    assert "Watermark: not found" in result.stdout and "Content credentials: none" in result.stdout
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    assert run("verify", str(bad)).returncode == 2


def test_marks_can_be_turned_off(tmp_path: Path) -> None:
    env = {"PLANTAIN_WATERMARK": "false", "PLANTAIN_CONTENT_CREDENTIALS": "false"}
    with server_process(env) as server:
        body = {"contents": [{"parts": [{"text": "a blue square"}]}]}
        r = httpx.post(
            f"{server.base}/v1beta/models/plantain-mini:generateContent",
            json=body, headers={"x-goog-api-key": API_KEY}, timeout=60,
        )  # fmt: skip
        part = next(p for p in r.json()["candidates"][0]["content"]["parts"] if "inlineData" in p)
        data = base64.b64decode(part["inlineData"]["data"])
        assert not read(Image.open(io.BytesIO(data))).found
        assert not read_credentials(data, "image/png").found


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "plantain.cli", *args], capture_output=True, text=True, timeout=60)
