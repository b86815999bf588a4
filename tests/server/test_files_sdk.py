"""The Files API through google-genai against a real server: upload (chunked past 8 MiB), get, list,
download, delete, a file named in generateContent, and files private to their key."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
from base64 import b64decode
from pathlib import Path

import pytest
from google import genai
from google.genai import errors, types
from PIL import Image

from tests.server_process import API_KEY, server_process

# A real server process, training or the model at length: `pytest -m "not slow"` skips it.
pytestmark = pytest.mark.slow


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (245, 245, 245)).save(buf, format="PNG")
    return buf.getvalue()


def test_files_through_the_sdk(tmp_path: Path) -> None:
    env = {"PLANTAIN_DATA_DIR": str(tmp_path), "PLANTAIN_MAX_FILE_BYTES": str(16 * 1024 * 1024)}
    result = subprocess.run([sys.executable, "-m", "plantain.cli", "keys", "create", "--name", "other"],
                            env={**os.environ, **env}, capture_output=True, text=True, check=True)  # fmt: skip
    other_key = result.stdout.strip()
    with server_process(env) as server:
        client = genai.Client(api_key=API_KEY, http_options=types.HttpOptions(base_url=server.base))
        other = genai.Client(api_key=other_key, http_options=types.HttpOptions(base_url=server.base))
        image = client.files.upload(file=io.BytesIO(png()), config={"mime_type": "image/png", "display_name": "white"})
        assert image.state == types.FileState.ACTIVE and image.display_name == "white"
        assert b64decode(image.sha256_hash or "").decode() == hashlib.sha256(png()).hexdigest()
        data = os.urandom(9 * 1024 * 1024)  # two chunks of the SDK's 8 MiB
        batch = client.files.upload(file=io.BytesIO(data), config={"mime_type": "jsonl"})
        assert batch.size_bytes == len(data)
        assert [f.name for f in client.files.list()] == [batch.name, image.name]  # newest first
        assert client.files.download(file=batch.name) == data
        # The uploaded image named in a request, by its URI.
        reply = client.models.generate_content(
            model="gemini-3.1-flash-lite-image",
            contents=[types.Part.from_uri(file_uri=image.uri, mime_type="image/png"), "add a red circle"],
        )
        assert reply.usage_metadata is not None and reply.usage_metadata.prompt_token_count > 1000  # the image
        # Another key sees none of them.
        assert list(other.files.list()) == []
        with pytest.raises(errors.ClientError) as hidden:
            other.files.get(name=image.name)
        assert hidden.value.code == 404
        with pytest.raises(errors.ClientError) as denied:
            other.models.generate_content(
                model="gemini-3.1-flash-lite-image",
                contents=[types.Part.from_uri(file_uri=image.uri, mime_type="image/png"), "add a red circle"],
            )
        assert denied.value.code == 403
        with pytest.raises(errors.ClientError) as fetched:
            client.models.generate_content(
                model="gemini-3.1-flash-lite-image",
                contents=[types.Part.from_uri(file_uri="https://example.com/a.png", mime_type="image/png"), "edit"],
            )
        assert fetched.value.code == 400
        with pytest.raises(errors.APIError) as too_big:
            client.files.upload(file=io.BytesIO(b"x" * (17 * 1024 * 1024)), config={"mime_type": "text/plain"})
        assert too_big.value.code == 413
        client.files.delete(name=batch.name)
        with pytest.raises(errors.ClientError) as deleted:
            client.files.get(name=batch.name)
        assert deleted.value.code == 404
    assert sorted(p.name for p in (tmp_path / "files").iterdir()) == [image.name.removeprefix("files/")]
