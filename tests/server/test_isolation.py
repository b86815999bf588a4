"""Keys kept apart, secrets kept secret, and the usual browser defences, against a real server:
one key cannot see, read or delete another's files, batches or usage (404), admin routes need an
admin key, keys are stored hashed and never logged, file names cannot leave the data folder, and
repeated failed authentications are slowed to 429s."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from google import genai
from google.genai import errors, types
from PIL import Image

from tests.server_process import API_KEY, server_process

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::google.genai._common.ExperimentalWarning")]


def plantain(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "plantain.cli", *args], env={**os.environ, **env},
                            capture_output=True, text=True, check=True)  # fmt: skip
    return result.stdout.strip()


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 10, 10)).save(buf, format="PNG")
    return buf.getvalue()


def status(call: object, *args: object, **kwargs: object) -> int:
    with pytest.raises(errors.APIError) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    return int(caught.value.code)


def test_keys_apart_secrets_kept_headers_sent(tmp_path: Path) -> None:
    env = {"PLANTAIN_DATA_DIR": str(tmp_path), "PLANTAIN_AUTH_FAILURES_PER_MINUTE": "5"}
    alice_key = plantain(env, "keys", "create", "--name", "alice")
    bob_key = plantain(env, "keys", "create", "--name", "bob")
    admin_key = plantain(env, "keys", "create", "--name", "root", "--admin")
    log = tmp_path / "server.log"
    with server_process(env, log=log) as server:
        alice = genai.Client(api_key=alice_key, http_options=types.HttpOptions(base_url=server.base))
        bob = genai.Client(api_key=bob_key, http_options=types.HttpOptions(base_url=server.base))
        upload = alice.files.upload(file=io.BytesIO(png()), config={"mime_type": "image/png"})
        job = alice.batches.create(
            model="plantain-mini", src=types.BatchJobSource(inlined_requests=[types.InlinedRequest(contents="a dot")])
        )
        assert upload.name and job.name

        # Bob sees none of Alice's things, and cannot touch them: each is "not found".
        assert list(bob.files.list()) == [] and list(bob.batches.list()) == []
        assert status(bob.files.get, name=upload.name) == 404
        assert status(bob.files.download, file=upload.name) == 404
        assert status(bob.files.delete, name=upload.name) == 404
        assert status(bob.batches.get, name=job.name) == 404
        assert status(bob.batches.cancel, name=job.name) == 404
        assert status(bob.batches.delete, name=job.name) == 404
        assert alice.files.get(name=upload.name).name == upload.name  # still there
        assert alice.batches.get(name=job.name).name == job.name

        def get(path: str, secret: str, **params: str) -> httpx.Response:
            return httpx.get(f"{server.base}{path}", params=params, headers={"x-goog-api-key": secret}, timeout=30)

        assert get("/admin/usage", bob_key, key="alice").status_code == 404
        assert get("/admin/usage", bob_key).status_code == 200  # his own
        assert get("/admin/keys", bob_key).status_code == 403
        assert get("/admin/keys", API_KEY).status_code == 403  # a serving key is not an admin key
        listed = get("/admin/keys", admin_key)
        assert listed.status_code == 200 and alice_key not in listed.text
        assert get("/admin/usage", admin_key, key="alice").status_code == 200

        # File names that try to leave the data folder are names that do not exist.
        escapes = [
            "/v1/images/content/..%2Fplantain.db",
            "/v1/images/content/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
            "/download/v1beta/files/..%2F..%2Fplantain.db:download",
            "/v1beta/files/..%2Fplantain.db",
        ]
        for path in escapes:
            r = get(path, alice_key)
            assert r.status_code in (400, 404), (path, r.status_code)
            assert b"SQLite" not in r.content and "root:" not in r.text

        # The usual headers, on an answer and on an error alike.
        for r in (get("/v1beta/models", alice_key), get("/v1beta/models/nothing", alice_key)):
            assert r.headers["x-content-type-options"] == "nosniff"
            assert r.headers["x-frame-options"] == "DENY"
            assert r.headers["referrer-policy"] == "no-referrer"
            assert "default-src 'none'" in r.headers["content-security-policy"]
        assert "script-src 'self'" in httpx.get(f"{server.base}/").headers["content-security-policy"]

        # Guessing keys: five failures, then 429s for the address, whatever key it sends.
        wrong = [get("/v1beta/models", f"guess-{i}").status_code for i in range(5)]
        assert wrong == [400] * 5
        blocked = get("/v1beta/models", "guess-5")
        assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
        assert get("/v1beta/models", alice_key).status_code == 429

    # Keys are kept as salted hashes: no secret in the database file, none in the server's log.
    store = (tmp_path / "plantain.db").read_bytes()
    logged = log.read_text()
    for secret in (alice_key, bob_key, admin_key):
        assert secret.encode() not in store and secret not in logged
        assert secret[-12:] not in logged
